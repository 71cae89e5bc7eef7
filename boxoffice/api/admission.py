"""Admission control: let a buyer start a workflow only while seats remain that no other
buyer's reservation is already on its way to take.

In a flash sale, Temporal decides reservations far slower than buyers arrive (`make bench`,
scenario 3). Refusing only once Postgres shows a type sold out let every buyer who came before
the last seat was *taken* start a workflow, most of them only to be refused by it later. So
each admitted order writes an `admissions` row, and a request is admitted only if the seats
left minus the seats admitted and not yet decided still cover it. Nothing is sold here: the
workflow's conditional UPDATE stays the only thing that takes a seat, so an admission that
lapses (its API process died) or is withdrawn can at worst let in a buyer too many, never
oversell.

Admissions of one ticket type are serialised by a transaction-scoped advisory lock, so two
buyers cannot both see the last seat free; the worker's reservation does not take that lock.
The count runs in a statement of its own after the lock, so its snapshot sees every admission
committed before (READ COMMITTED takes a new snapshot per statement)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.api.sold_out_memo import SoldOutMemo
from boxoffice.payloads import OrderItem

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")

# One statement: lapsed rows of other orders go, the seats free to admit are counted, and the
# order's row is written (or its lease renewed, for a retried request) when they cover it.
_ADMIT = text(
    """
    WITH lapsed AS (
        DELETE FROM admissions
        WHERE ticket_type_id = :type AND expires_at <= now() AND order_id <> :order
    ), counted AS (
        SELECT t.id, t.event_id, t.name, t.available,
               t.available - COALESCE((
                   SELECT sum(a.quantity) FROM admissions a
                   WHERE a.ticket_type_id = t.id AND a.expires_at > now()
                     AND a.order_id <> :order
               ), 0) AS free
        FROM ticket_types t WHERE t.id = :type
    ), admitted AS (
        INSERT INTO admissions (order_id, ticket_type_id, quantity, expires_at)
        SELECT :order, id, :n, now() + make_interval(secs => :lease)
        FROM counted WHERE free >= :n
        ON CONFLICT (order_id, ticket_type_id) DO UPDATE
            SET quantity = excluded.quantity, expires_at = excluded.expires_at
        RETURNING 1
    )
    SELECT event_id, name, available, free, EXISTS (SELECT 1 FROM admitted) AS admitted
    FROM counted
    """
)

_WITHDRAW = text("DELETE FROM admissions WHERE order_id = :order")


async def admit(
    session: AsyncSession,
    order_id: str,
    items: list[OrderItem],
    lease_seconds: float,
    memo: SoldOutMemo | None = None,
) -> str | None:
    """Admit every line of the order, or none and say why (the caller commits the admission,
    or rolls back after a refusal).

    `items` come merged and in ticket-type id order (`validate_items`), the order in which the
    locks are taken, so two multi-type orders never deadlock."""
    for item in items:
        await session.execute(_LOCK, {"key": f"admission:{item.ticket_type_id}"})
        row = (
            await session.execute(
                _ADMIT,
                {
                    "type": uuid.UUID(item.ticket_type_id),
                    "order": order_id,
                    "n": item.quantity,
                    "lease": lease_seconds,
                },
            )
        ).one_or_none()
        if row is None:  # validated a moment ago; deleted since
            return f"Ticket type {item.ticket_type_id} is not sold for this event."
        if row.admitted:
            continue
        free = max(row.free, 0)
        if row.available < item.quantity or free == row.available:
            detail = f"Not enough seats left for {row.name} ({row.available} available)."
        else:
            detail = (
                f"Not enough seats left for {row.name} ({free} available; "
                f"{row.available - free} more are being reserved by other buyers and go back on "
                "sale if those reservations fail)."
            )
        if memo is not None and free == 0:
            memo.remember(row.event_id, uuid.UUID(item.ticket_type_id), detail)
        return detail
    return None


async def withdraw(session: AsyncSession, order_id: str) -> None:
    """The order's workflow will not reserve after all: its admitted seats count no more."""
    await session.execute(_WITHDRAW, {"order": order_id})
