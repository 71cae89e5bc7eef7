"""The demo event `make dev` seeds, so a new user has something to buy at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

DEMO_EVENT_NAME = "Boxoffice Live — Demo Night"
DEMO_VENUE = "Boxoffice Hall, Berlin"
#: (name, price in cents, currency, capacity)
DEMO_TICKET_TYPES = (
    ("General admission", 4500, "EUR", 200),
    ("VIP", 12000, "EUR", 20),
)


@dataclass(frozen=True)
class DemoEvent:
    event_id: str
    ticket_type_ids: dict[str, str]


def seed_demo_event(database_url: str) -> DemoEvent:
    """The demo event and its ticket types; created once (as an organiser's POST /events
    would, through the events repository), found by name afterwards."""
    return asyncio.run(_seed(database_url))


async def _seed(database_url: str) -> DemoEvent:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from boxoffice.core.database.engine import sqlalchemy_url
    from boxoffice.core.database.models import Event, TicketType
    from boxoffice.events import repository

    engine = create_async_engine(sqlalchemy_url(database_url))
    try:
        async with engine.connect() as connection, connection.begin():
            session = AsyncSession(bind=connection)
            event = await session.scalar(
                select(Event).where(Event.name == DEMO_EVENT_NAME).order_by(Event.created_at)
            )
            if event is None:
                day = datetime.now(UTC).date() + timedelta(weeks=4)
                event = await repository.add_event(
                    session,
                    name=DEMO_EVENT_NAME,
                    venue=DEMO_VENUE,
                    starts_at=datetime(day.year, day.month, day.day, 19, 0, tzinfo=UTC),
                    refund_cutoff_hours=48,
                    ticket_types=[
                        {"name": name, "price": price, "currency": currency, "capacity": cap}
                        for name, price, currency, cap in DEMO_TICKET_TYPES
                    ],
                )
                print(f"boxoffice dev: seeded the demo event {DEMO_EVENT_NAME!r}", flush=True)
            types = (
                await session.scalars(select(TicketType).where(TicketType.event_id == event.id))
            ).all()
            return DemoEvent(
                event_id=str(event.id), ticket_type_ids={t.name: str(t.id) for t in types}
            )
    finally:
        await engine.dispose()
