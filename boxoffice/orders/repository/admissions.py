"""The `admissions` rows of admission control (`orders/admission/control.py`): seats a buyer was
let ask for while the order's reservation decides them.

An admission is made by one call of `boxoffice_admit`, the SQL function in `admit.sql` beside
this module (applied at every `boxoffice db upgrade`), and ended by deleting the order's rows:
by the reservation that decided it, or by the API when no reservation will come."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.orders.messages import OrderItem

#: The admission rule itself, as SQL.
ADMIT_SQL = Path(__file__).with_name("admit.sql")

_ADMIT = text(
    "SELECT refused_type, refused_event, type_name, seats_available, seats_free"
    " FROM boxoffice_admit(:order, CAST(:types AS uuid[]), CAST(:quantities AS integer[]),"
    " :lease)"
)
_END = text("DELETE FROM admissions WHERE order_id = :order")


@dataclass(frozen=True)
class Refusal:
    """The ticket type that could not admit the order: its event (None when the type is gone),
    its seats left and, of those, how many no other admission is counting on."""

    ticket_type_id: uuid.UUID
    event_id: uuid.UUID | None
    type_name: str | None
    seats_available: int
    seats_free: int


async def begin_autocommit(session: AsyncSession) -> None:
    """Start the session's work on a connection in autocommit, as `admit` needs. A request's
    reads before it (the catalogue, its Idempotency-Key) share that one connection: each
    pool checkout is a round trip of its own, and a flash sale's first burst of buyers queued
    for seconds on them (`make bench`, scenario 3)."""
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


async def admit(
    session: AsyncSession, order_id: str, items: list[OrderItem], lease_seconds: float
) -> Refusal | None:
    """Admit every line of the order, or none and say which type refused.

    The admission commits by itself, so the session must have begun in autocommit
    (`begin_autocommit`): in a transaction of the caller's it would hold the locks until that
    commit. `items` come merged and in ticket-type id order, the order the locks are taken in."""
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
    return Refusal(
        refused.refused_type,
        refused.refused_event,
        refused.type_name,
        refused.seats_available,
        refused.seats_free,
    )


async def end(session: AsyncSession, order_id: str) -> None:
    """The order's admitted seats count against other buyers no more (the caller commits)."""
    await session.execute(_END, {"order": order_id})
