"""How `boxoffice orders` prints for people: tables (rich), one per part of an order. `--json`
prints the same data for tools instead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from boxoffice.core.cli_tables import console as _console
from boxoffice.core.cli_tables import table as _table

#: The columns support reads, per part of an order (the rest is in --json).
_SECTIONS: dict[str, tuple[str, ...]] = {
    "holds": ("ticket_type_id", "quantity", "unit_price", "created_at", "released_at"),
    "payments": ("attempt", "payment_intent_id", "status", "amount", "decline_reason"),
    "refunds": ("payment_intent_id", "stripe_refund_id", "amount", "status", "reason"),
    "stray_refunds": ("payment_intent_id", "stripe_refund_id", "amount", "currency", "status"),
    "tickets": ("position", "id", "status", "checked_in_at", "checked_in_gate"),
    "emails": ("message_id", "kind", "recipient", "sent_at"),
    "audit": ("created_at", "actor", "action", "reason", "outcome"),
}


def print_orders(found: Sequence[Any]) -> None:
    console = _console()
    if not found:
        console.print("no orders match")
        return
    rows = []
    for o in found:
        age = f"{o.age_seconds // 3600}h{(o.age_seconds % 3600) // 60:02d}m"
        rows.append((o.id, o.status, age, o.last_error, o.temporal_url))
    console.print(_table("orders", ("id", "status", "age", "last error", "Temporal"), rows))


def print_detail(detail: dict[str, Any]) -> None:
    console = _console()
    order = detail["order"]
    summary = [
        (key, order.get(key))
        for key in (
            "id",
            "status",
            "event_id",
            "buyer_name",
            "buyer_email",
            "total_amount",
            "currency",
            "hold_expires_at",
            "last_error",
            "created_at",
            "updated_at",
        )
    ]
    console.print(_table(f"order {order['id']}", ("field", "value"), summary))
    flow = detail["workflow"]
    console.print(f"workflow: {flow.get('run_status', flow.get('error'))}  {flow['url']}")
    if "progress" in flow:
        console.print(f"  step: {flow['progress']['step']}  status: {flow['progress']['status']}")
    for pending in flow.get("pending_activities", []):
        console.print(
            f"  pending {pending['activity']} attempt {pending['attempt']}: "
            f"{pending['last_failure']}"
        )
    for section, columns in _SECTIONS.items():
        rows = detail[section]
        if not rows:
            console.print(f"{section}: none")
            continue
        console.print(_table(section, columns, [[row.get(c) for c in columns] for row in rows]))
