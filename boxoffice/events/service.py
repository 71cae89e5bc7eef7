"""EventService: the catalogue's use cases, for the public listing, the organisers' routes and
(next) the storefront. Raises `EventError`, never an HTTP status."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.core.database.models import Event
from boxoffice.core.errors import ErrorKind
from boxoffice.core.http.fields import Money
from boxoffice.events import repository
from boxoffice.events.domain import DUPLICATE_TYPE_NAMES, EventError, no_such_event, sales_end
from boxoffice.events.schemas import EventCreate, EventPublic, TicketTypePublic


class EventService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], default_refund_cutoff_hours: int
    ) -> None:
        self._sessions = sessions
        self._default_cutoff = default_refund_cutoff_hours

    async def page(
        self, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> tuple[list[EventPublic], Event | None]:
        """Up to `limit` events after the position `after`, and the last one shown when more
        follow (its position starts the next page)."""
        async with self._sessions() as session:
            events = await repository.page(session, after, limit + 1)
            shown = await _public(session, events[:limit])
        return shown, events[limit - 1] if len(events) > limit else None

    async def event(self, event_id: uuid.UUID) -> EventPublic:
        async with self._sessions() as session:
            event = await repository.readable(session, event_id)
            if event is None:
                raise no_such_event(event_id)
            (shown,) = await _public(session, [event])
        return shown

    async def create(self, body: EventCreate) -> EventPublic:
        names = [tt.name for tt in body.ticket_types]
        if len(set(names)) != len(names):
            # A conflict between parts of the request that JSON Schema cannot state.
            raise EventError(ErrorKind.REFUSED, DUPLICATE_TYPE_NAMES)
        cutoff = body.refund_cutoff_hours
        async with self._sessions() as session, session.begin():
            event = await repository.add_event(
                session,
                name=body.name,
                venue=body.venue,
                starts_at=body.starts_at,
                refund_cutoff_hours=cutoff if cutoff is not None else self._default_cutoff,
                ticket_types=[
                    (tt.name, tt.price, tt.currency, tt.capacity, tt.on_sale_until)
                    for tt in body.ticket_types
                ],
            )
            (shown,) = await _public(session, [event])
        return shown


async def _public(session: AsyncSession, events: Sequence[Event]) -> list[EventPublic]:
    """Events with their ticket types, in one query for the types."""
    by_event: dict[uuid.UUID, list[TicketTypePublic]] = {}
    starts = {event.id: event for event in events}
    for tt in await repository.types_of(session, [event.id for event in events]):
        by_event.setdefault(tt.event_id, []).append(
            TicketTypePublic(
                id=tt.id,
                name=tt.name,
                price=Money(amount=tt.price, currency=tt.currency),
                capacity=tt.capacity,
                available=tt.available,
                on_sale_until=sales_end(tt, starts[tt.event_id]),
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
