"""Every query on events and ticket types. The caller owns the transaction.

Capacity moves only by conditional SQL, as seats do: raising it adds seats to what is
available; lowering it takes them away only while the seats left cover the cut, so a cut never
sells past the new capacity and never leaves `available` below zero, however many buyers are
reserving at that moment."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import (
    READABLE_FROM,
    READABLE_UNTIL,
    Addon,
    AddonHold,
    AuditEntry,
    Event,
    Hold,
    Order,
    TicketType,
)
from boxoffice.events.domain import LISTED, EventStatus

#: Rows whose times Python can read: one written before the tables checked them (a year
#: 10000, say) would otherwise fail every listing for every caller.
_READABLE = Event.starts_at.between(READABLE_FROM, READABLE_UNTIL)
_RESTOCK = text(
    "UPDATE addons SET stock = :stock, available = available + (:stock - stock)"
    " WHERE id = :id AND available + (:stock - stock) >= 0 RETURNING stock"
)
_RESIZE = text(
    "UPDATE ticket_types SET capacity = :capacity, available = available + (:capacity - capacity)"
    " WHERE id = :id AND available + (:capacity - capacity) >= 0 RETURNING capacity"
)


async def page(
    session: AsyncSession, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[Event]:
    """Up to `limit` listed events in start order after the position `after` (start, id)."""
    query = (
        select(Event)
        .where(_READABLE, Event.status.in_(list(LISTED)))
        .order_by(Event.starts_at, Event.id)
    )
    if after is not None:
        query = query.where(tuple_(Event.starts_at, Event.id) > after)
    return (await session.execute(query.limit(limit))).scalars().all()


async def readable(
    session: AsyncSession, event_id: uuid.UUID, *, drafts: bool = False
) -> Event | None:
    """The event, unless Python cannot read its times; a draft only when asked for."""
    query = select(Event).where(Event.id == event_id, _READABLE)
    if not drafts:
        query = query.where(Event.status != EventStatus.DRAFT)
    return await session.scalar(query)


async def locked(session: AsyncSession, event_id: uuid.UUID) -> Event | None:
    """The event's row, locked until the caller's transaction ends (one change at a time)."""
    return await session.get(Event, event_id, with_for_update=True, populate_existing=True)


async def types_of(
    session: AsyncSession, event_ids: Sequence[uuid.UUID], *, hidden: bool = False
) -> Sequence[TicketType]:
    """The ticket types of these events, cheapest first; hidden ones only when asked for."""
    query = select(TicketType).where(TicketType.event_id.in_(event_ids))
    if not hidden:
        query = query.where(TicketType.hidden.is_(False))
    return (
        (await session.execute(query.order_by(TicketType.price, TicketType.name))).scalars().all()
    )


async def ticket_type(
    session: AsyncSession, event_id: uuid.UUID, type_id: uuid.UUID
) -> TicketType | None:
    found = await session.get(TicketType, type_id, with_for_update=True, populate_existing=True)
    return found if found is not None and found.event_id == event_id else None


async def resize(session: AsyncSession, type_id: uuid.UUID, capacity: int) -> bool:
    """Set the type's capacity if the seats left cover a cut; False (nothing changed) if not."""
    return (
        await session.execute(_RESIZE, {"capacity": capacity, "id": type_id})
    ).first() is not None


async def type_has_orders(session: AsyncSession, type_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(Hold.ticket_type_id == type_id))))


async def has_orders(session: AsyncSession, event_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(Order.event_id == event_id))))


async def addons_of(
    session: AsyncSession, event_ids: Sequence[uuid.UUID], *, hidden: bool = False
) -> Sequence[Addon]:
    """The add-ons of these events, by name; hidden ones only when asked for."""
    query = select(Addon).where(Addon.event_id.in_(event_ids))
    if not hidden:
        query = query.where(Addon.hidden.is_(False))
    return (await session.execute(query.order_by(Addon.name))).scalars().all()


async def addon(session: AsyncSession, event_id: uuid.UUID, addon_id: uuid.UUID) -> Addon | None:
    found = await session.get(Addon, addon_id, with_for_update=True, populate_existing=True)
    return found if found is not None and found.event_id == event_id else None


async def restock(session: AsyncSession, addon_id: uuid.UUID, stock: int) -> bool:
    """Set an add-on's stock if what is left covers a cut; False (nothing changed) if not."""
    return (await session.execute(_RESTOCK, {"stock": stock, "id": addon_id})).first() is not None


async def addon_has_orders(session: AsyncSession, addon_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(AddonHold.addon_id == addon_id))))


def add_addon(session: AsyncSession, event_id: uuid.UUID, **fields: Any) -> Addon:
    """A new add-on (`AddonCreate`'s fields), its whole stock available."""
    added = Addon(event_id=event_id, available=fields["stock"], **fields)
    session.add(added)
    return added


async def remove(session: AsyncSession, event_id: uuid.UUID) -> None:
    """An event with no orders, its ticket types and add-ons."""
    await session.execute(delete(Addon).where(Addon.event_id == event_id))
    await session.execute(delete(TicketType).where(TicketType.event_id == event_id))
    await session.execute(delete(Event).where(Event.id == event_id))


def add_type(
    session: AsyncSession,
    event_id: uuid.UUID,
    *,
    name: str,
    price: int,
    currency: str,
    capacity: int,
    on_sale_from: datetime | None = None,
    on_sale_until: datetime | None = None,
    hidden: bool = False,
) -> TicketType:
    ticket_type = TicketType(
        event_id=event_id,
        name=name,
        price=price,
        currency=currency,
        capacity=capacity,
        available=capacity,
        on_sale_from=on_sale_from,
        on_sale_until=on_sale_until,
        hidden=hidden,
    )
    session.add(ticket_type)
    return ticket_type


async def add_event(
    session: AsyncSession,
    *,
    name: str,
    venue: str,
    starts_at: datetime,
    refund_cutoff_hours: int,
    ticket_types: Sequence[dict[str, Any]],
    addons: Sequence[dict[str, Any]] = (),
    status: EventStatus = EventStatus.ON_SALE,
    description: str | None = None,
    ends_at: datetime | None = None,
) -> Event:
    """A new event with its ticket types (each `add_type`'s keywords) and add-ons, every seat
    and add-on available."""
    event = Event(
        name=name,
        venue=venue,
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        status=status,
        refund_cutoff_hours=refund_cutoff_hours,
    )
    session.add(event)
    await session.flush()
    for fields in ticket_types:
        add_type(session, event.id, **fields)
    for fields in addons:
        add_addon(session, event.id, **fields)
    await session.flush()
    return event


def audit(
    session: AsyncSession,
    event_id: uuid.UUID,
    actor: str,
    action: str,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Who changed what of the event (field -> [before, after]), and why."""
    session.add(
        AuditEntry(event_id=event_id, actor=actor, action=action, changes=changes, reason=reason)
    )
