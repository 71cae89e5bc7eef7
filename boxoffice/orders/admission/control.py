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
The whole admission is one call of `boxoffice_admit` (`orders/repository/admit.sql`) run alone in
autocommit: the lock is held only while the server runs it. Taking the lock in a transaction of
the API's own held it across round trips to an API process that a flash sale keeps busy, and
the buyers queued behind it waited up to 19 s (`make bench`, scenario 3)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.orders.admission.sold_out_memo import SoldOutMemo
from boxoffice.orders.domain import not_sold_here
from boxoffice.orders.messages import OrderItem
from boxoffice.orders.repository import admissions


async def admit(
    session: AsyncSession,
    order_id: str,
    items: list[OrderItem],
    lease_seconds: float,
    memo: SoldOutMemo | None = None,
) -> str | None:
    """Admit every line of the order, or none and say why (the session began in autocommit:
    `admissions.begin_autocommit`). A type with no seat free is remembered as sold out."""
    refused = await admissions.admit(session, order_id, items, lease_seconds)
    if refused is None:
        return None
    if refused.event_id is None:  # validated a moment ago; deleted since
        return not_sold_here(refused.ticket_type_id)
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
        memo.remember(refused.event_id, refused.ticket_type_id, detail)
    return detail
