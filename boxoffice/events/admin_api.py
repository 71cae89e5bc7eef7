"""Organiser routes, for admin tokens only: create, read, edit and delete events, their
ticket types and add-ons, and the sales report. Thin: EventService, EventEditing and
AddonEditing do the work; the actor in the audit log is the token's subject."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from boxoffice.auth.access import STAFF_ERRORS, require_roles
from boxoffice.auth.principal import Principal
from boxoffice.core.http.errors import raise_http
from boxoffice.core.http.fields import ErrorBody
from boxoffice.events.addons import AddonEditing
from boxoffice.events.api import EventServiceDep
from boxoffice.events.domain import EventError
from boxoffice.events.editing import EventEditing
from boxoffice.events.report import EventReport, event_report
from boxoffice.events.schemas import (
    AddonCreate,
    AddonUpdate,
    EventAdmin,
    EventCreate,
    EventUpdate,
    TicketTypeCreate,
    TicketTypeUpdate,
)

_admin = require_roles("admin")
Organiser = Annotated[Principal, Depends(_admin)]
router = APIRouter(tags=["admin"], dependencies=[Depends(_admin)], responses=STAFF_ERRORS)
_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such event or ticket type"},
    409: {"model": ErrorBody, "description": "The event's state or its orders refuse it"},
    422: {"model": ErrorBody},
}


async def get_editing(request: Request) -> EventEditing:
    editing: EventEditing = request.app.state.event_editing
    return editing


EditingDep = Annotated[EventEditing, Depends(get_editing)]


async def get_addon_editing(request: Request) -> AddonEditing:
    editing: AddonEditing = request.app.state.addon_editing
    return editing


AddonEditingDep = Annotated[AddonEditing, Depends(get_addon_editing)]


@router.post(
    "/events",
    status_code=201,
    response_model=EventAdmin,
    responses={
        409: {"model": ErrorBody, "description": "Two ticket types share a name"},
        422: {"model": ErrorBody},
    },
)
async def create_event(
    body: EventCreate, events: EventServiceDep, organiser: Organiser, response: Response
) -> EventAdmin:
    """An event on sale at once, or a `draft` (neither listed nor sold) when the body says so."""
    try:
        created = await events.create(body, organiser.subject)
    except EventError as refused:
        raise_http(refused)
    response.headers["Location"] = f"/events/{created.id}"
    return created


@router.get("/admin/events/{event_id}", response_model=EventAdmin, responses=_ERRORS)
async def organiser_event(event_id: uuid.UUID, events: EventServiceDep) -> EventAdmin:
    """The event as its organiser sees it: a draft, and hidden ticket types too."""
    try:
        return await events.for_organiser(event_id)
    except EventError as refused:
        raise_http(refused)


@router.patch("/events/{event_id}", response_model=EventAdmin, responses=_ERRORS)
async def update_event(
    event_id: uuid.UUID, body: EventUpdate, editing: EditingDep, organiser: Organiser
) -> EventAdmin:
    """Change what is sent (name, venue, description, end, refund cutoff for new orders, or the
    status along its arrows: draft -> on_sale <-> sales_closed -> over)."""
    try:
        return await editing.update(event_id, body, organiser.subject)
    except EventError as refused:
        raise_http(refused)


@router.delete("/events/{event_id}", status_code=204, responses=_ERRORS)
async def delete_event(event_id: uuid.UUID, editing: EditingDep, organiser: Organiser) -> Response:
    """Only a draft with no orders; anything else is refused with the reason."""
    try:
        await editing.delete(event_id, organiser.subject)
    except EventError as refused:
        raise_http(refused)
    return Response(status_code=204)


@router.post(
    "/events/{event_id}/ticket-types",
    status_code=201,
    response_model=EventAdmin,
    responses=_ERRORS,
)
async def add_ticket_type(
    event_id: uuid.UUID, body: TicketTypeCreate, editing: EditingDep, organiser: Organiser
) -> EventAdmin:
    try:
        return await editing.add_type(event_id, body, organiser.subject)
    except EventError as refused:
        raise_http(refused)


@router.patch(
    "/events/{event_id}/ticket-types/{type_id}", response_model=EventAdmin, responses=_ERRORS
)
async def update_ticket_type(
    event_id: uuid.UUID,
    type_id: uuid.UUID,
    body: TicketTypeUpdate,
    editing: EditingDep,
    organiser: Organiser,
) -> EventAdmin:
    """A new price applies to new orders only; capacity goes down only to what is sold and held
    (409 says how many)."""
    try:
        return await editing.update_type(event_id, type_id, body, organiser.subject)
    except EventError as refused:
        raise_http(refused)


@router.post(
    "/events/{event_id}/addons", status_code=201, response_model=EventAdmin, responses=_ERRORS
)
async def add_addon(
    event_id: uuid.UUID, body: AddonCreate, editing: AddonEditingDep, organiser: Organiser
) -> EventAdmin:
    """A product sold with the event's tickets (parking, merchandise), priced in their
    currency, with its own stock and per-order limit."""
    try:
        return await editing.add(event_id, body, organiser.subject)
    except EventError as refused:
        raise_http(refused)


@router.patch("/events/{event_id}/addons/{addon_id}", response_model=EventAdmin, responses=_ERRORS)
async def update_addon(
    event_id: uuid.UUID,
    addon_id: uuid.UUID,
    body: AddonUpdate,
    editing: AddonEditingDep,
    organiser: Organiser,
) -> EventAdmin:
    """A new price applies to new orders only; stock goes down only to what is sold and held
    (409 says how many)."""
    try:
        return await editing.update(event_id, addon_id, body, organiser.subject)
    except EventError as refused:
        raise_http(refused)


@router.get(
    "/events/{event_id}/report",
    response_model=EventReport,
    responses={
        **_ERRORS,
        200: {"content": {"application/json": {}, "text/csv": {}}},
    },
)
async def sales_report(
    event_id: uuid.UUID,
    request: Request,
    format: Annotated[Literal["json", "csv"], Query(description="csv: one row a line")] = "json",
) -> EventReport | Response:
    """Per ticket type: capacity, sold, held, refunded, checked in, revenue kept."""
    try:
        report = await event_report(request.app.state.sessions, event_id)
    except EventError as refused:
        raise_http(refused)
    if format == "csv":
        name = f"report-{event_id}.csv"
        return Response(
            report.csv(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return report
