"""Every query on events and ticket types. The caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import READABLE_FROM, READABLE_UNTIL, Event, TicketType
from boxoffice.events.domain import EventStatus

#: Rows whose times Python can read: one written before the tables checked them (a year
#: 10000, say) would otherwise fail every listing for every caller.
_READABLE = Event.starts_at.between(READABLE_FROM, READABLE_UNTIL)


async def page(
    session: AsyncSession, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[Event]:
    """Up to `limit` events in start order after the position `after` (start, id)."""
    query = select(Event).where(_READABLE).order_by(Event.starts_at, Event.id)
    if after is not None:
        query = query.where(tuple_(Event.starts_at, Event.id) > after)
    return (await session.execute(query.limit(limit))).scalars().all()


async def readable(session: AsyncSession, event_id: uuid.UUID) -> Event | None:
    return await session.scalar(select(Event).where(Event.id == event_id, _READABLE))


async def types_of(session: AsyncSession, event_ids: Sequence[uuid.UUID]) -> Sequence[TicketType]:
    """The ticket types of these events, cheapest first."""
    return (
        (
            await session.execute(
                select(TicketType)
                .where(TicketType.event_id.in_(event_ids))
                .order_by(TicketType.price, TicketType.name)
            )
        )
        .scalars()
        .all()
    )


async def add_event(
    session: AsyncSession,
    *,
    name: str,
    venue: str,
    starts_at: datetime,
    refund_cutoff_hours: int,
    ticket_types: Sequence[tuple[str, int, str, int, datetime | None]],
) -> Event:
    """A new event on sale with its ticket types (name, price, currency, capacity, sales
    end), every seat available."""
    event = Event(
        name=name,
        venue=venue,
        starts_at=starts_at,
        status=EventStatus.ON_SALE,
        refund_cutoff_hours=refund_cutoff_hours,
    )
    session.add(event)
    await session.flush()
    for type_name, price, currency, capacity, on_sale_until in ticket_types:
        session.add(
            TicketType(
                event_id=event.id,
                name=type_name,
                price=price,
                currency=currency,
                capacity=capacity,
                available=capacity,
                on_sale_until=on_sale_until,
            )
        )
    await session.flush()
    return event
