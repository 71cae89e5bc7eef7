"""The demo event `make dev` seeds, so a new user has something to buy at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
    """The demo event and its ticket types; created once, found by name afterwards."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from boxoffice.core.database.engine import sqlalchemy_url
    from boxoffice.core.database.models import Event, TicketType
    from boxoffice.events.domain import EventStatus

    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with Session(engine) as session, session.begin():
            event = session.scalars(
                select(Event).where(Event.name == DEMO_EVENT_NAME).order_by(Event.created_at)
            ).first()
            if event is None:
                day = datetime.now(UTC).date() + timedelta(weeks=4)
                event = Event(
                    name=DEMO_EVENT_NAME,
                    venue=DEMO_VENUE,
                    starts_at=datetime(day.year, day.month, day.day, 19, 0, tzinfo=UTC),
                    status=EventStatus.ON_SALE,
                    refund_cutoff_hours=48,
                )
                session.add(event)
                session.flush()
                for name, price, currency, capacity in DEMO_TICKET_TYPES:
                    session.add(
                        TicketType(
                            event_id=event.id,
                            name=name,
                            price=price,
                            currency=currency,
                            capacity=capacity,
                            available=capacity,
                        )
                    )
                session.flush()
                print(f"boxoffice dev: seeded the demo event {DEMO_EVENT_NAME!r}", flush=True)
            types = session.scalars(select(TicketType).where(TicketType.event_id == event.id)).all()
            return DemoEvent(
                event_id=str(event.id), ticket_type_ids={t.name: str(t.id) for t in types}
            )
    finally:
        engine.dispose()
