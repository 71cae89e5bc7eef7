"""Organiser routes, for admin tokens only. Thin: the EventService does the work."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from boxoffice.auth.access import STAFF_ERRORS, require_roles
from boxoffice.core.http.errors import raise_http
from boxoffice.core.http.fields import ErrorBody
from boxoffice.events.api import EventServiceDep
from boxoffice.events.domain import EventError
from boxoffice.events.schemas import EventCreate, EventPublic

router = APIRouter(
    tags=["admin"], dependencies=[Depends(require_roles("admin"))], responses=STAFF_ERRORS
)


@router.post(
    "/events",
    status_code=201,
    response_model=EventPublic,
    responses={
        409: {"model": ErrorBody, "description": "Two ticket types share a name"},
        422: {"model": ErrorBody},
    },
)
async def create_event(
    body: EventCreate, events: EventServiceDep, response: Response
) -> EventPublic:
    try:
        created = await events.create(body)
    except EventError as refused:
        raise_http(refused)
    response.headers["Location"] = f"/events/{created.id}"
    return created
