"""An order's receipt: each ticket type and add-on bought, what it cost, and the total charged.
Read from the order's row (the prices it was charged, not today's). One structured form, so the
tickets email's text and HTML parts list the same lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boxoffice.orders.tickets.pdf import format_price


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    quantity: int
    price: str  # formatted, e.g. "90.00 EUR": quantity times the unit price charged

    @property
    def label(self) -> str:
        return f"{self.quantity} x {self.name}"


@dataclass(frozen=True)
class Receipt:
    lines: tuple[ReceiptLine, ...]
    total: str


def order_receipt(
    items: list[dict[str, Any]], addons: list[dict[str, Any]], total: int, currency: str
) -> Receipt:
    lines = [_line(line, "Ticket", currency) for line in items]
    lines += [_line(addon, "Add-on", currency) for addon in addons]
    return Receipt(lines=tuple(lines), total=format_price(total, currency))


def receipt_text(bought: Receipt) -> str:
    """Aligned columns for the plain-text email."""
    width = max([len(line.label) for line in bought.lines] + [len("Total")])
    rows = [f"  {line.label:<{width}}  {line.price}" for line in bought.lines]
    rows.append(f"  {'Total':<{width}}  {bought.total}")
    return "\n".join(rows) + "\n"


def _line(line: dict[str, Any], kind: str, currency: str) -> ReceiptLine:
    # Rows from before names and prices were kept on the order have neither.
    quantity = int(line.get("quantity") or 0)
    amount = quantity * int(line.get("unit_price") or 0)
    return ReceiptLine(
        name=line.get("name") or kind, quantity=quantity, price=format_price(amount, currency)
    )
