"""Public event listing: events with their ticket types, prices and seats left.

Pages of `limit` events in start order, the next one named by a `Link: <...>; rel="next"`
header (the body stays a plain list, as before pages existed), answered from the catalogue
cache (`catalogue_cache.py`) with ETags."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import READABLE_FROM, READABLE_UNTIL, Event, TicketType
from boxoffice.core.http.deps import SessionsDep
from boxoffice.events.catalogue_cache import CatalogueCache, Page
from boxoffice.orders.schemas import ErrorBody, EventPublic, Money, TicketTypePublic

router = APIRouter(tags=["events"])

DEFAULT_PAGE = 100
MAX_PAGE = 200
_EVENTS = TypeAdapter(list[EventPublic])
_NOT_MODIFIED: dict[int | str, dict[str, object]] = {
    304: {"description": "Not modified: the ETag sent in If-None-Match is still current"}
}


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

#: A cursor is the last event's start, in microseconds since 1970, and its id: any string the
#: pattern admits is a position, so a made-up cursor gives a page, never an error.
_CURSOR = r"^-?[0-9]{1,16}-[0-9a-f]{32}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


Cursor = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=_CURSOR,
        description="Where the page starts: take it from the previous page's Link header.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Events per page.")]


@router.get(
    "/events",
    response_model=list[EventPublic],
    responses={**_NOT_MODIFIED, 422: {"model": ErrorBody}},
)
async def list_events(
    request: Request, sessions: SessionsDep, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE
) -> Response:
    """Events in start order, `limit` at a time; `Link: <...>; rel="next"` names the next
    page while there is one."""
    after = _position(cursor) if cursor is not None else None

    async def render() -> Page:
        query = select(Event).where(_READABLE).order_by(Event.starts_at, Event.id)
        if after is not None:
            query = query.where(tuple_(Event.starts_at, Event.id) > after)
        async with sessions() as session:
            events = (await session.execute(query.limit(limit + 1))).scalars().all()
            shown = await events_public(session, events[:limit])
        headers = {}
        if len(events) > limit:
            following = _cursor_of(events[limit - 1])
            headers["Link"] = f'</events?limit={limit}&cursor={following}>; rel="next"'
        return Page(_EVENTS.dump_json(shown), headers)

    page = await _cache(request).page(("events", cursor, limit), render)
    assert page is not None
    return _cache(request).answer(request, page)


@router.get(
    "/events/{event_id}",
    response_model=EventPublic,
    responses={**_NOT_MODIFIED, 404: {"model": ErrorBody}},
)
async def get_event(event_id: uuid.UUID, request: Request, sessions: SessionsDep) -> Response:
    async def render() -> Page | None:
        async with sessions() as session:
            event = await session.scalar(select(Event).where(Event.id == event_id, _READABLE))
            if event is None:
                return None
            (shown,) = await events_public(session, [event])
        return Page(shown.model_dump_json().encode())

    page = await _cache(request).page(("event", event_id), render)
    if page is None:
        raise HTTPException(404, f"No event with id {event_id}.")
    return _cache(request).answer(request, page)


def _cache(request: Request) -> CatalogueCache:
    cache: CatalogueCache = request.app.state.catalogue
    return cache


def _cursor_of(event: Event) -> str:
    micros = (event.starts_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{event.id.hex}"


def _position(cursor: str) -> tuple[datetime, uuid.UUID]:
    micros, event_id = cursor.rsplit("-", 1)
    return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=event_id)
