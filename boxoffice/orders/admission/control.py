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
The whole admission is one call of `boxoffice_admit` (migration 0004) run on its own in
autocommit: the lock is held only while the server runs it. Taking the lock in a transaction of
the API's own held it across round trips to an API process that a flash sale keeps busy, and
the buyers queued behind it waited up to 19 s (`make bench`, scenario 3)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.orders.admission.sold_out_memo import SoldOutMemo
from boxoffice.orders.messages import OrderItem

_ADMIT = text(
    "SELECT refused_type, refused_event, type_name, seats_available, seats_free"
    " FROM boxoffice_admit(:order, CAST(:types AS uuid[]), CAST(:quantities AS integer[]),"
    " :lease)"
)


async def begin_autocommit(session: AsyncSession) -> None:
    """Start the session's work on a connection in autocommit, as `admit` needs. A request's
    reads before it (the catalogue, its Idempotency-Key) share that one connection: each
    pool checkout is a round trip of its own, and a flash sale's first burst of buyers queued
    for seconds on them (`make bench`, scenario 3)."""
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


async def admit(
    session: AsyncSession,
    order_id: str,
    items: list[OrderItem],
    lease_seconds: float,
    memo: SoldOutMemo | None = None,
) -> str | None:
    """Admit every line of the order, or none and say why.

    The admission commits by itself, so the session must have begun in autocommit
    (`begin_autocommit`): in a transaction of the caller's it would hold the locks until that
    commit. `items` come merged and in ticket-type id order (`validate_items`), the order in
    which the locks are taken."""
    connection = (await session.connection()).sync_connection
    if connection is None or connection.get_execution_options().get("isolation_level") != (
        "AUTOCOMMIT"
    ):
        raise RuntimeError("admit() commits on its own: begin the session with begin_autocommit")
    refused = (
        await session.execute(
            _ADMIT,
            {
                "order": order_id,
                "types": [item.ticket_type_id for item in items],
                "quantities": [item.quantity for item in items],
                "lease": lease_seconds,
            },
        )
    ).one_or_none()
    if refused is None:
        return None
    if refused.refused_event is None:  # validated a moment ago; deleted since
        return f"Ticket type {refused.refused_type} is not sold for this event."
    available, free = refused.seats_available, max(refused.seats_free, 0)
    if free == available:
        detail = f"Not enough seats left for {refused.type_name} ({available} available)."
    else:
        detail = (
            f"Not enough seats left for {refused.type_name} ({free} available; "
            f"{available - free} more are being reserved by other buyers and go back on sale "
            "if those reservations fail)."
        )
    if memo is not None and free == 0:
        memo.remember(refused.refused_event, refused.refused_type, detail)
    return detail
