"""What the fulfilment activities' tests share: an order with seats held, its rows read back,
and one activity run as a worker would run it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from boxoffice.core.database.models import Event, Hold, Order, Ticket, TicketType
from boxoffice.orders.messages import OrderRef

if TYPE_CHECKING:
    pass

T = TypeVar("T")
PUBLIC_BASE_URL = "http://tickets.test"


async def run(activity: Callable[[OrderRef], Awaitable[T]], order_id: str) -> T:
    return await ActivityEnvironment().run(activity, OrderRef(order_id=order_id))


async def make_order(
    sessions: async_sessionmaker[AsyncSession],
    *,
    status: str = "paid",
    quantities: tuple[int, ...] = (2, 1),
) -> Order:
    """An event with one ticket type per quantity, and an order holding those seats."""
    order_id = f"ord_{uuid.uuid4().hex}"
    async with sessions() as s, s.begin():
        event = Event(
            name="Zoë Ñandú & the 李 Quartet",
            venue="Kulturhalle Süd",
            starts_at=datetime(2026, 9, 12, 19, 30, tzinfo=UTC),
        )
        s.add(event)
        await s.flush()
        types = [
            TicketType(
                event_id=event.id,
                name=f"Type {n}",
                price=1000 * (n + 1),
                currency="EUR",
                capacity=100,
                available=100 - quantity,
            )
            for n, quantity in enumerate(quantities)
        ]
        s.add_all(types)
        await s.flush()
        total = sum(t.price * q for t, q in zip(types, quantities, strict=True))
        order = Order(
            id=order_id,
            event_id=event.id,
            buyer_email="zoe@example.com",
            buyer_name="Zoë Ñandú",
            items=[
                {"ticket_type_id": str(t.id), "quantity": q}
                for t, q in zip(types, quantities, strict=True)
            ],
            total_amount=total,
            currency="EUR",
            status=status,
        )
        s.add(order)
        await s.flush()
        s.add_all(
            Hold(order_id=order_id, ticket_type_id=t.id, quantity=q, unit_price=t.price)
            for t, q in zip(types, quantities, strict=True)
        )
    return order


async def ticket_rows(sessions: async_sessionmaker[AsyncSession], order_id: str) -> list[Ticket]:
    async with sessions() as s:
        return list(
            (
                await s.scalars(
                    select(Ticket).where(Ticket.order_id == order_id).order_by(Ticket.position)
                )
            ).all()
        )


async def order_row(sessions: async_sessionmaker[AsyncSession], order_id: str) -> Order:
    async with sessions() as s:
        order = await s.get(Order, order_id)
        assert order is not None
        return order
