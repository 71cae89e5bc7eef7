"""An order's receipt as plain text: each ticket type and add-on bought, what it cost, and the
total charged. Read from the order's row (the prices it was charged, not today's)."""

from __future__ import annotations

from typing import Any

from boxoffice.orders.tickets.pdf import format_price


def receipt_text(
    items: list[dict[str, Any]], addons: list[dict[str, Any]], total: int, currency: str
) -> str:
    lines = [_line(line, "Ticket") for line in items] + [_line(a, "Add-on") for a in addons]
    width = max([len(label) for label, _ in lines] + [len("Total")])
    rows = [f"  {label:<{width}}  {format_price(amount, currency)}" for label, amount in lines]
    rows.append(f"  {'Total':<{width}}  {format_price(total, currency)}")
    return "\n".join(rows) + "\n"


def _line(line: dict[str, Any], kind: str) -> tuple[str, int]:
    # Rows from before names and prices were kept on the order have neither.
    quantity = int(line.get("quantity") or 0)
    return f"{quantity} x {line.get('name') or kind}", quantity * int(line.get("unit_price") or 0)
