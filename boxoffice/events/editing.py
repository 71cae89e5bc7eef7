"""Changing an event after it was created: its details and status, its ticket types (price,
capacity, sales window, hidden), new types, and deleting a draft. Every change is written to
the audit log with who made it and what it changed (field -> [before, after]).

Each change locks the event's row, so two organisers' edits apply one after the other; a
capacity cut is one conditional UPDATE (`repository.resize`), so it cannot race the buyers
reserving at that moment."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.core.database.models import Event, TicketType
from boxoffice.core.errors import ErrorKind
from boxoffice.events import repository
from boxoffice.events.domain import (
    DUPLICATE_ADDON_NAMES,
    DUPLICATE_TYPE_NAMES,
    EventError,
    EventStatus,
    move_refusal,
    no_such_event,
)
from boxoffice.events.schemas import EventAdmin, EventUpdate, TicketTypeCreate, TicketTypeUpdate
from boxoffice.events.service import check_window, organiser_view, type_fields


class EventEditing:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def update(self, event_id: uuid.UUID, patch: EventUpdate, actor: str) -> EventAdmin:
        sent = patch.model_dump(exclude_unset=True)
        async with self._sessions() as session, session.begin():
            event = await locked_event(session, event_id)
            refuse_if_final(event)
            if "status" in sent:
                refusal = move_refusal(event.status, sent["status"])
                if refusal is not None:
                    raise EventError(ErrorKind.REFUSED, refusal)
            if "starts_at" in sent and await repository.has_orders(session, event.id):
                raise EventError(
                    ErrorKind.REFUSED,
                    "This event has orders: move its date with POST /events/{id}/postpone, "
                    "which tells every buyer.",
                )
            starts = sent.get("starts_at", event.starts_at)
            ends = sent.get("ends_at", event.ends_at)
            if ends is not None and ends <= starts:
                raise EventError(ErrorKind.INVALID, "ends_at: must be after starts_at.")
            changes = apply_changes(event, sent)
            if changes:
                repository.audit(session, event.id, actor, "event.update", changes)
            return await organiser_view(session, event)

    async def add_type(self, event_id: uuid.UUID, body: TicketTypeCreate, actor: str) -> EventAdmin:
        check_window(body.on_sale_from, body.on_sale_until)
        async with self._sessions() as session, session.begin():
            event = await locked_event(session, event_id)
            refuse_if_final(event)
            await refuse_taken_type_name(session, event.id, body.name)
            added = repository.add_type(session, event.id, **type_fields(body))  # type: ignore[arg-type]
            await session.flush()
            repository.audit(
                session, event.id, actor, "ticket_type.create", {str(added.id): [None, body.name]}
            )
            return await organiser_view(session, event)

    async def update_type(
        self, event_id: uuid.UUID, type_id: uuid.UUID, patch: TicketTypeUpdate, actor: str
    ) -> EventAdmin:
        sent = patch.model_dump(exclude_unset=True)
        async with self._sessions() as session, session.begin():
            event = await locked_event(session, event_id)
            refuse_if_final(event)
            tt = await repository.ticket_type(session, event.id, type_id)
            if tt is None:
                raise EventError(
                    ErrorKind.NOT_FOUND, f"No ticket type {type_id} in event {event_id}."
                )
            if "name" in sent and sent["name"] != tt.name:
                await refuse_taken_type_name(session, event.id, sent["name"])
            check_window(
                sent.get("on_sale_from", tt.on_sale_from),
                sent.get("on_sale_until", tt.on_sale_until),
            )
            new_currency = "currency" in sent and sent["currency"] != tt.currency
            if new_currency and await repository.type_has_orders(session, tt.id):
                raise EventError(
                    ErrorKind.REFUSED,
                    f"{tt.name} has orders: its currency cannot change (their payments were "
                    "made in it).",
                )
            changes: dict[str, Any] = {}
            capacity = sent.pop("capacity", None)
            if capacity is not None and capacity != tt.capacity:
                before = tt.capacity
                await self._resize(session, tt, capacity)
                changes["capacity"] = [before, capacity]
            changes |= apply_changes(tt, sent)
            if changes:
                repository.audit(
                    session,
                    event.id,
                    actor,
                    "ticket_type.update",
                    {"ticket_type": str(tt.id)} | changes,
                )
            return await organiser_view(session, event)

    async def _resize(self, session: AsyncSession, tt: TicketType, capacity: int) -> None:
        if not await repository.resize(session, tt.id, capacity):
            taken = tt.capacity - tt.available
            raise EventError(
                ErrorKind.REFUSED,
                f"{tt.name}: {taken} tickets are sold or held, so its capacity cannot go below "
                f"{taken} ({capacity} asked).",
            )
        await session.refresh(tt)

    async def delete(self, event_id: uuid.UUID, actor: str) -> None:
        """A draft with no orders goes; anything else is kept (set it over instead)."""
        async with self._sessions() as session, session.begin():
            event = await locked_event(session, event_id)
            if event.status != EventStatus.DRAFT:
                raise EventError(
                    ErrorKind.REFUSED,
                    f"Only a draft can be deleted; this event is {event.status}: its buyers and "
                    "their orders are kept. Close its sales or set it over instead.",
                )
            if await repository.has_orders(session, event.id):
                raise EventError(ErrorKind.REFUSED, "This draft has orders; it is kept.")
            repository.audit(session, event.id, actor, "event.delete", {"name": [event.name, None]})
            await repository.remove(session, event.id)


async def locked_event(session: AsyncSession, event_id: uuid.UUID) -> Event:
    event = await repository.locked(session, event_id)
    if event is None:
        raise no_such_event(event_id)
    return event


async def refuse_taken_type_name(session: AsyncSession, event_id: uuid.UUID, name: str) -> None:
    """Names are unique within an event (a UNIQUE constraint): say so, rather than fail."""
    types = await repository.types_of(session, [event_id], hidden=True)
    if name in {tt.name for tt in types}:
        raise EventError(ErrorKind.REFUSED, DUPLICATE_TYPE_NAMES)


async def refuse_taken_addon_name(session: AsyncSession, event_id: uuid.UUID, name: str) -> None:
    addons = await repository.addons_of(session, [event_id], hidden=True)
    if name in {addon.name for addon in addons}:
        raise EventError(ErrorKind.REFUSED, DUPLICATE_ADDON_NAMES)


def refuse_if_final(event: Event) -> None:
    if event.status in (EventStatus.CANCELLED, EventStatus.OVER):
        raise EventError(
            ErrorKind.REFUSED, f"This event is {event.status}: it can no longer change."
        )


def apply_changes(row: Any, sent: dict[str, Any]) -> dict[str, Any]:
    """Set the sent fields on the row; what changed, as field -> [before, after] (JSON)."""
    changes: dict[str, Any] = {}
    for field, value in sent.items():
        before = getattr(row, field)
        if before != value:
            setattr(row, field, value)
            changes[field] = [_json(before), _json(value)]
    return changes


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
