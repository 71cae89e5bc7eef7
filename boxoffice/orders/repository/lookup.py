"""Reading an order with its event, as the fulfilment activities need it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import Event, Order


async def order_with_event(session: AsyncSession, order_id: str) -> tuple[Order, Event]:
    """The order and its event; a missing order is a non-retryable `OrderNotFound` (retrying
    cannot make it appear)."""
    row = (
        await session.execute(
            select(Order, Event).join(Event, Event.id == Order.event_id).where(Order.id == order_id)
        )
    ).one_or_none()
    if row is None:
        raise ApplicationError(
            f"order {order_id} does not exist", type="OrderNotFound", non_retryable=True
        )
    return row[0], row[1]
