"""Add-on stock: taken and given back exactly as seats are (`seats.py`): one conditional
UPDATE takes it only while enough is left, an order's `addon_holds` rows record what it took at
what price, and a release marks them released once and returns only what it marked. The caller
owns the transaction (the reservation's, with the seats); orders take add-on rows in id order,
after their ticket types, so two never deadlock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import AddonHold
from boxoffice.orders.messages import ReservedAddon

_TAKE = text(
    "UPDATE addons SET available = available - :n"
    " WHERE id = :id AND event_id = :event AND available >= :n AND NOT hidden"
    " RETURNING name, price, currency, max_per_order"
)
_RELEASE_HOLDS = text(
    "UPDATE addon_holds SET released_at = now() WHERE order_id = :order AND released_at IS NULL"
    " RETURNING addon_id, quantity"
)
_RETURN = text("UPDATE addons SET available = available + :n WHERE id = :id")


@dataclass
class Taken:
    name: str
    price: int
    currency: str
    max_per_order: int


async def take(
    session: AsyncSession, event_id: uuid.UUID, addon_id: uuid.UUID, quantity: int
) -> Taken | None:
    """Take `quantity` of a listed add-on of the event if that many are left; None (nothing
    taken) if not."""
    row = (await session.execute(_TAKE, {"n": quantity, "id": addon_id, "event": event_id})).first()
    return None if row is None else Taken(*row)


def hold(session: AsyncSession, order_id: str, lines: Sequence[ReservedAddon]) -> None:
    for line in lines:
        session.add(
            AddonHold(
                order_id=order_id,
                addon_id=uuid.UUID(line.addon_id),
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
        )


async def give_back(session: AsyncSession, order_id: str) -> int:
    """Release the order's add-ons and return their stock; how many went back (0 when they
    already had)."""
    released = sorted((await session.execute(_RELEASE_HOLDS, {"order": order_id})).all())
    for addon_id, quantity in released:
        await session.execute(_RETURN, {"n": quantity, "id": addon_id})
    return sum(quantity for _, quantity in released)
