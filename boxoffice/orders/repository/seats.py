"""Seats: the one place they are taken and given back.

A seat is sold only by `UPDATE ticket_types SET available = available - :n WHERE id = :id AND
available >= :n`, never read-then-write (which oversold 6,111 of 100 seats with 64 clients in
DESIGN.md's measurement). An order's seats are held in `holds` rows written in the same
transaction, and given back at most once: the hold is marked released by a conditional UPDATE
and only the seats it marked return. The caller owns the transaction; orders take their types'
rows in ticket type id order (`orders.domain.merged_quantities`), so two never deadlock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import Hold
from boxoffice.orders.messages import ReservedLine

_TAKE = text(
    "UPDATE ticket_types SET available = available - :n "
    "WHERE id = :id AND available >= :n RETURNING available"
)
_RELEASE_HOLDS = text(
    "UPDATE holds SET released_at = now() WHERE order_id = :order AND released_at IS NULL "
    "RETURNING ticket_type_id, quantity"
)
_RETURN = text("UPDATE ticket_types SET available = available + :n WHERE id = :id")


async def take(session: AsyncSession, ticket_type_id: uuid.UUID, quantity: int) -> bool:
    """Take `quantity` seats of one type if that many are left; False (nothing taken) if not."""
    taken = await session.execute(_TAKE, {"n": quantity, "id": ticket_type_id})
    return taken.first() is not None


def hold(session: AsyncSession, order_id: str, lines: Sequence[ReservedLine]) -> None:
    """The order's holds, one per ticket type, with what each seat costs it."""
    for line in lines:
        session.add(
            Hold(
                order_id=order_id,
                ticket_type_id=uuid.UUID(line.ticket_type_id),
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
        )


async def give_back(session: AsyncSession, order_id: str) -> int:
    """Release the order's holds and return their seats; the seats given back (0 when they
    already were)."""
    released = sorted((await session.execute(_RELEASE_HOLDS, {"order": order_id})).all())
    for ticket_type_id, quantity in released:
        await session.execute(_RETURN, {"n": quantity, "id": ticket_type_id})
    return sum(quantity for _, quantity in released)
