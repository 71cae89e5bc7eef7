"""How `boxoffice events` prints for people: the event with its ticket types and add-ons, the
sales report, a cancellation's progress (rich tables; `--json` for tools)."""

from __future__ import annotations

from typing import Any

from boxoffice.core.cli_tables import console, table
from boxoffice.orders.tickets.pdf import format_price


def print_event(event: Any) -> None:
    out = console()
    summary = [
        ("id", event.id),
        ("name", event.name),
        ("venue", event.venue),
        ("status", event.status),
        ("starts_at", event.starts_at),
        ("ends_at", event.ends_at),
        ("refund_cutoff_hours", event.refund_cutoff_hours),
    ]
    out.print(table(f"event {event.name}", ("field", "value"), summary))
    types = [
        (
            tt.id,
            tt.name,
            format_price(tt.price.amount, tt.price.currency),
            f"{tt.available}/{tt.capacity}",
            tt.on_sale_from,
            tt.on_sale_until,
            "hidden" if tt.hidden else "listed",
        )
        for tt in event.ticket_types
    ]
    columns = ("id", "name", "price", "left", "sales open", "sales end", "shown")
    out.print(table("ticket types", columns, types))
    if event.addons:
        addons = [
            (
                a.id,
                a.name,
                format_price(a.price.amount, a.price.currency),
                f"{a.available}/{a.stock}",
                a.max_per_order,
                "hidden" if a.hidden else "listed",
            )
            for a in event.addons
        ]
        shown = ("id", "name", "price", "left", "per order", "shown")
        out.print(table("add-ons", shown, addons))


def print_report(report: Any) -> None:
    out = console()
    columns = ("kind", "name", "capacity", "sold", "held", "refunded", "checked in", "revenue")
    rows = [
        (
            line.kind,
            line.name,
            line.capacity,
            line.sold,
            line.held,
            line.refunded,
            line.checked_in,
            format_price(line.revenue, line.currency),
        )
        for line in report.lines
    ]
    out.print(table(f"{report.name} ({report.status})", columns, rows))
    for total in report.totals:
        out.print(
            f"{total.currency}: {total.orders_paid} paid orders, "
            f"{format_price(total.revenue, total.currency)} kept; {total.orders_refunded} "
            f"refunded, {format_price(total.refunded, total.currency)} given back"
        )


def print_progress(progress: Any) -> None:
    out = console()
    out.print(
        f"cancellation of {progress.event_id}: {progress.status}; {progress.done} of "
        f"{progress.orders_total} orders done, {progress.failed} failed, {progress.left} left"
    )
    outcomes = ", ".join(f"{name} {n}" for name, n in progress.outcomes.items()) or "none yet"
    out.print(f"outcomes: {outcomes}")
    out.print(f"Temporal workflow: {progress.workflow_id}")
    if progress.failures:
        rows = list(progress.failures.items())
        out.print(table("could not be refunded (needs_attention)", ("order", "why"), rows))
