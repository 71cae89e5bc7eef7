"""Comma-separated values as settings and command options take them (`a, b,,c`)."""

from __future__ import annotations


def comma_list(text: str) -> list[str]:
    """The items, stripped, blanks left out."""
    return [item.strip() for item in text.split(",") if item.strip()]
