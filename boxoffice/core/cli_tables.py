"""Tables for people at a terminal (rich), shared by every domain's commands; `--json` prints
the same data for tools instead."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

#: Columns when the output is not a terminal (a pipe, a file): rich would take 80 and fold
#: ids and amounts in half, where a reader or grep then cannot find them.
PIPE_WIDTH = 200


def console() -> Console:
    # Made per call, so it writes where stdout is now (a test's capture, a pipe).
    tty = sys.stdout.isatty()
    return Console(highlight=False, soft_wrap=True, width=None if tty else PIPE_WIDTH)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    shown = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        shown.add_column(column, overflow="fold")
    for row in rows:
        shown.add_row(*(cell(v) for v in row))
    return shown
