"""EventService: the catalogue as buyers see it (listed events, listed ticket types and add-ons)
and as its organiser does (drafts and hidden ones too), and creating an event. Editing one is
`editing.py` (its add-ons `addons.py`); its end (cancel, postpone) `lifecycle/`. Raises
`EventError`, never an HTTP status."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.core.database.models import Addon, Event, TicketType
from boxoffice.core.errors import ErrorKind
from boxoffice.core.http.fields import Money
from boxoffice.events import availability, repository
from boxoffice.events.availability import Seats
from boxoffice.events.domain import (
    DUPLICATE_ADDON_NAMES,
    DUPLICATE_TYPE_NAMES,
    EventError,
    no_such_event,
    sales_end,
)
from boxoffice.events.schemas import (
    AddonAdmin,
    AddonCreate,
    AddonPublic,
    EventAdmin,
    EventCreate,
    EventPublic,
    TicketTypeAdmin,
    TicketTypeCreate,
    TicketTypePublic,
)


class EventService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], default_refund_cutoff_hours: int
    ) -> None:
        self._sessions = sessions
        self._default_cutoff = default_refund_cutoff_hours

    async def page(
        self, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> tuple[list[EventPublic], Event | None]:
        """Up to `limit` listed events after the position `after`, and the last one shown when
        more follow (its position starts the next page)."""
        async with self._sessions() as session:
            events = await repository.page(session, after, limit + 1)
            shown = await public_events(session, events[:limit])
        return shown, events[limit - 1] if len(events) > limit else None

    async def event(self, event_id: uuid.UUID) -> EventPublic:
        """An event as buyers see it (not a draft, no hidden ticket type)."""
        async with self._sessions() as session:
            event = await repository.readable(session, event_id)
            if event is None:
                raise no_such_event(event_id)
            (shown,) = await public_events(session, [event])
        return shown

    async def shop_page(self, limit: int) -> list[tuple[EventPublic, Seats | None]]:
        """The first `limit` listed events, each with what the list says of its seats."""
        async with self._sessions() as session:
            events = await public_events(session, await repository.page(session, None, limit))
            held = await availability.held_unpaid(session, [e.id for e in events])
        now = datetime.now(UTC)
        shown = []
        for event in events:
            seats = availability.seats_of(event, held, now).values()
            if availability.of_interest(event, seats, now):
                shown.append((event, availability.event_state(seats)))
        return shown

    async def shop_event(self, event_id: uuid.UUID) -> tuple[EventPublic, dict[uuid.UUID, Seats]]:
        """An event as buyers see it, with the state of each ticket type's seats."""
        event = await self.event(event_id)
        async with self._sessions() as session:
            held = await availability.held_unpaid(session, [event.id])
        return event, availability.seats_of(event, held, datetime.now(UTC))

    async def for_organiser(self, event_id: uuid.UUID) -> EventAdmin:
        async with self._sessions() as session:
            event = await repository.readable(session, event_id, drafts=True)
            if event is None:
                raise no_such_event(event_id)
            return await organiser_view(session, event)

    async def create(self, body: EventCreate, actor: str) -> EventAdmin:
        _refuse_duplicate_names([tt.name for tt in body.ticket_types])
        if body.ends_at is not None and body.ends_at <= body.starts_at:
            raise EventError(ErrorKind.INVALID, "ends_at: must be after starts_at.")
        for tt in body.ticket_types:
            check_window(tt.on_sale_from, tt.on_sale_until)
        check_addons(body.addons, {tt.currency for tt in body.ticket_types})
        cutoff = body.refund_cutoff_hours
        async with self._sessions() as session, session.begin():
            event = await repository.add_event(
                session,
                name=body.name,
                venue=body.venue,
                description=body.description,
                starts_at=body.starts_at,
                ends_at=body.ends_at,
                status=body.status,
                refund_cutoff_hours=cutoff if cutoff is not None else self._default_cutoff,
                ticket_types=[type_fields(tt) for tt in body.ticket_types],
                addons=[addon.model_dump() for addon in body.addons],
            )
            repository.audit(session, event.id, actor, "event.create", {"name": [None, body.name]})
            return await organiser_view(session, event)


def type_fields(tt: TicketTypeCreate) -> dict[str, object]:
    return tt.model_dump()


def check_window(opens: datetime | None, ends: datetime | None) -> None:
    if opens is not None and ends is not None and opens >= ends:
        raise EventError(
            ErrorKind.INVALID, "on_sale_until: the sales window must close after it opens."
        )


def check_addons(addons: Sequence[AddonCreate], currencies: set[str]) -> None:
    """Add-ons are paid with the tickets, so in a currency they are sold in."""
    _refuse_duplicate_names([addon.name for addon in addons], DUPLICATE_ADDON_NAMES)
    for addon in addons:
        if addon.currency not in currencies:
            raise EventError(
                ErrorKind.REFUSED,
                f"addons: {addon.name} is priced in {addon.currency}; this event's tickets are "
                f"sold in {', '.join(sorted(currencies))}.",
            )


def _refuse_duplicate_names(names: Sequence[str], refusal: str = DUPLICATE_TYPE_NAMES) -> None:
    if len(set(names)) != len(names):
        # A conflict between parts of the request that JSON Schema cannot state.
        raise EventError(ErrorKind.REFUSED, refusal)


def _type_public(tt: TicketType, event: Event) -> dict[str, object]:
    return {
        "id": tt.id,
        "name": tt.name,
        "price": Money(amount=tt.price, currency=tt.currency),
        "capacity": tt.capacity,
        "available": tt.available,
        "on_sale_from": tt.on_sale_from,
        "on_sale_until": sales_end(tt, event),
    }


def _event_fields(event: Event) -> dict[str, object]:
    return {
        "id": event.id,
        "name": event.name,
        "venue": event.venue,
        "description": event.description,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "status": event.status,
        "refund_cutoff_hours": event.refund_cutoff_hours,
    }


def _addon_fields(addon: Addon) -> dict[str, object]:
    return {
        "id": addon.id,
        "name": addon.name,
        "description": addon.description,
        "price": Money(amount=addon.price, currency=addon.currency),
        "stock": addon.stock,
        "available": addon.available,
        "max_per_order": addon.max_per_order,
        "hidden": addon.hidden,
    }


async def public_events(session: AsyncSession, events: Sequence[Event]) -> list[EventPublic]:
    """Events with their listed ticket types and add-ons, in one query for each."""
    by_event: dict[uuid.UUID, list[TicketTypePublic]] = {}
    starts = {event.id: event for event in events}
    ids = [event.id for event in events]
    for tt in await repository.types_of(session, ids):
        by_event.setdefault(tt.event_id, []).append(
            TicketTypePublic.model_validate(_type_public(tt, starts[tt.event_id]))
        )
    addons: dict[uuid.UUID, list[AddonPublic]] = {}
    for addon in await repository.addons_of(session, ids):
        addons.setdefault(addon.event_id, []).append(
            AddonPublic.model_validate(_addon_fields(addon))
        )
    return [
        EventPublic.model_validate(
            {
                **_event_fields(event),
                "ticket_types": by_event.get(event.id, []),
                "addons": addons.get(event.id, []),
            }
        )
        for event in events
    ]


async def organiser_view(session: AsyncSession, event: Event) -> EventAdmin:
    types = await repository.types_of(session, [event.id], hidden=True)
    addons = await repository.addons_of(session, [event.id], hidden=True)
    return EventAdmin.model_validate(
        {
            **_event_fields(event),
            "ticket_types": [
                TicketTypeAdmin.model_validate({**_type_public(tt, event), "hidden": tt.hidden})
                for tt in types
            ],
            "addons": [AddonAdmin.model_validate(_addon_fields(addon)) for addon in addons],
        }
    )
