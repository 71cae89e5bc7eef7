"""Public event listing: events with their ticket types, prices and seats left."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi import APIRouter, HTTPException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.api.deps import SessionDep
from boxoffice.api.schemas import ErrorBody, EventPublic, Money, TicketTypePublic
from boxoffice.db.models import READABLE_FROM, READABLE_UNTIL, Event, TicketType

router = APIRouter(tags=["events"])


async def events_public(session: AsyncSession, events: Sequence[Event]) -> list[EventPublic]:
    """Events with their ticket types, in one query for the types."""
    ids = [event.id for event in events]
    types = (
        (
            await session.execute(
                select(TicketType)
                .where(TicketType.event_id.in_(ids))
                .order_by(TicketType.price, TicketType.name)
            )
        )
        .scalars()
        .all()
    )
    by_event: dict[uuid.UUID, list[TicketTypePublic]] = {}
    starts = {event.id: event for event in events}
    for tt in types:
        by_event.setdefault(tt.event_id, []).append(
            TicketTypePublic(
                id=tt.id,
                name=tt.name,
                price=Money(amount=tt.price, currency=tt.currency),
                capacity=tt.capacity,
                available=tt.available,
                on_sale_until=tt.sales_end(starts[tt.event_id]),
            )
        )
    return [
        EventPublic(
            id=event.id,
            name=event.name,
            venue=event.venue,
            starts_at=event.starts_at,
            status=event.status,
            refund_cutoff_hours=event.refund_cutoff_hours,
            ticket_types=by_event.get(event.id, []),
        )
        for event in events
    ]


#: Rows whose times Python can read: one written before the tables checked them (a year
#: 10000, say) would otherwise fail every listing for every caller.
_READABLE = Event.starts_at.between(READABLE_FROM, READABLE_UNTIL)


@router.get("/events", response_model=list[EventPublic])
async def list_events(session: SessionDep) -> list[EventPublic]:
    events = (
        (await session.execute(select(Event).where(_READABLE).order_by(Event.starts_at)))
        .scalars()
        .all()
    )
    return await events_public(session, events)


@router.get("/events/{event_id}", response_model=EventPublic, responses={404: {"model": ErrorBody}})
async def get_event(event_id: uuid.UUID, session: SessionDep) -> EventPublic:
    event = await session.scalar(select(Event).where(Event.id == event_id, _READABLE))
    if event is None:
        raise HTTPException(404, f"No event with id {event_id}.")
    return (await events_public(session, [event]))[0]
