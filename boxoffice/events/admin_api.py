"""Organiser routes, for admin tokens only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response

from boxoffice.auth.access import STAFF_ERRORS, require_roles
from boxoffice.core.database.models import Event, TicketType
from boxoffice.core.http.deps import SessionDep, SettingsDep
from boxoffice.events.api import events_public
from boxoffice.orders.schemas import ErrorBody, EventCreate, EventPublic

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
    body: EventCreate, session: SessionDep, settings: SettingsDep, response: Response
) -> EventPublic:
    names = [tt.name for tt in body.ticket_types]
    if len(set(names)) != len(names):
        # A conflict between parts of the request that JSON Schema cannot state.
        raise HTTPException(409, "Ticket type names must be unique within an event.")
    async with session.begin():
        event = Event(
            name=body.name,
            venue=body.venue,
            starts_at=body.starts_at,
            status="on_sale",
            refund_cutoff_hours=(
                body.refund_cutoff_hours
                if body.refund_cutoff_hours is not None
                else settings.default_refund_cutoff_hours
            ),
        )
        session.add(event)
        await session.flush()
        for tt in body.ticket_types:
            session.add(
                TicketType(
                    event_id=event.id,
                    name=tt.name,
                    price=tt.price,
                    currency=tt.currency,
                    capacity=tt.capacity,
                    available=tt.capacity,
                    on_sale_until=tt.on_sale_until,
                )
            )
    response.headers["Location"] = f"/events/{event.id}"
    return (await events_public(session, [event]))[0]
