"""Public event listing: events with their ticket types, prices and seats left.

Pages of `limit` events in start order, the next one named by a `Link: <...>; rel="next"`
header (the body stays a plain list, as before pages existed), answered from the catalogue
cache (`catalogue_cache.py`) with ETags. Thin: the EventService does the work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter

from boxoffice.core.database.models import Event
from boxoffice.core.http.errors import raise_http
from boxoffice.core.http.fields import ErrorBody
from boxoffice.events.catalogue_cache import CatalogueCache, Page
from boxoffice.events.domain import EventError, no_such_event
from boxoffice.events.schemas import EventPublic
from boxoffice.events.service import EventService

router = APIRouter(tags=["events"])

DEFAULT_PAGE = 100
MAX_PAGE = 200
_EVENTS = TypeAdapter(list[EventPublic])
_NOT_MODIFIED: dict[int | str, dict[str, object]] = {
    304: {"description": "Not modified: the ETag sent in If-None-Match is still current"}
}
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


async def get_event_service(request: Request) -> EventService:
    service: EventService = request.app.state.events
    return service


EventServiceDep = Annotated[EventService, Depends(get_event_service)]


@router.get(
    "/events",
    response_model=list[EventPublic],
    responses={**_NOT_MODIFIED, 422: {"model": ErrorBody}},
)
async def list_events(
    request: Request, events: EventServiceDep, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE
) -> Response:
    """Events in start order, `limit` at a time; `Link: <...>; rel="next"` names the next
    page while there is one."""
    after = _position(cursor) if cursor is not None else None

    async def render() -> Page:
        shown, last = await events.page(after, limit)
        headers = {}
        if last is not None:
            following = _cursor_of(last)
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
async def get_event(event_id: uuid.UUID, request: Request, events: EventServiceDep) -> Response:
    async def render() -> Page | None:
        try:
            shown = await events.event(event_id)
        except EventError:
            return None  # not kept: an event that appears is shown at once
        return Page(shown.model_dump_json().encode())

    page = await _cache(request).page(("event", event_id), render)
    if page is None:
        raise_http(no_such_event(event_id))
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
