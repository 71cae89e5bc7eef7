"""The flash sale's verdict: once every holder's purchase finished, the seats counted in
Postgres and the charges in the Stripe emulator (none sold twice, every seat sold)."""

from __future__ import annotations

from dataclasses import dataclass

from bench import database
from bench.scenarios.pipeline import wait_for_completion
from bench.stack import BenchStack
from bench.stripe_check import succeeded_charges

HOLDING = ("reserved", "paying", "paid", "completed", "needs_attention")


@dataclass
class Verdict:
    statuses: dict[str, int]
    seats: dict[str, int]
    holding_orders: int
    oversold_postgres: int
    paid_orders_stripe: int
    oversold_stripe: int
    charged_twice: int
    refused_by_workflow: int
    #: Epoch seconds when the last seat was taken (the newest holding order's row).
    last_seat_taken_at: float | None


async def verify(stack: BenchStack, event_id: str, seats: int, within: float) -> Verdict:
    """Let every holder's purchase finish, then count seats in Postgres and charges in Stripe."""
    async with database.connect(stack.database_url) as conn:
        rows = await (
            await conn.execute(
                "SELECT id FROM orders WHERE event_id::text = %s AND status = ANY(%s)",
                (event_id, list(HOLDING)),
            )
        ).fetchall()
        holders = [str(r[0]) for r in rows]
    await wait_for_completion(stack, holders, within)
    async with database.connect(stack.database_url) as conn:
        seat_counts = await database.seats(conn, [event_id])
        statuses = await database.statuses(conn, [event_id])
        rows = await (
            await conn.execute("SELECT id FROM orders WHERE event_id::text = %s", (event_id,))
        ).fetchall()
        last_taken = await database.scalar(
            conn,
            "SELECT extract(epoch FROM max(created_at)) FROM orders"
            " WHERE event_id::text = %s AND status = ANY(%s)",
            event_id,
            list(HOLDING),
        )
    charges = succeeded_charges(stack.stripe_base, {str(r[0]) for r in rows})
    holding = sum(statuses.get(s, 0) for s in HOLDING)
    return Verdict(
        statuses=statuses,
        seats=seat_counts,
        holding_orders=holding,
        oversold_postgres=max(0, holding - seats, seat_counts["held"] - seats)
        + max(0, -seat_counts["available"]),
        paid_orders_stripe=len(charges),
        oversold_stripe=max(0, len(charges) - seats),
        charged_twice=sum(n - 1 for n in charges.values() if n > 1),
        refused_by_workflow=statuses.get("sold_out", 0),
        last_seat_taken_at=float(last_taken) if last_taken is not None else None,
    )
