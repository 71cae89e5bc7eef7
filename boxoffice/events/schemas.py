"""Request and answer bodies of the catalogue: events and their ticket types."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from boxoffice.core.http.fields import Currency, Money, Name, Strict, Whole, visible_text

#: How far from now an event's times may be: anything further is a typo, or an attack on the
#: listing (PostgreSQL stores years Python cannot read back, such as 10000).
EVENT_TIMES_PAST = timedelta(days=366)
EVENT_TIMES_FUTURE = timedelta(days=10 * 366)


def _event_time(value: datetime) -> datetime:
    """A time that round-trips through PostgreSQL and Python, near enough to now to be real."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "event_time", "needs a time zone, e.g. 2027-03-01T20:00:00+01:00 or ...T19:00:00Z"
        )
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "event_time", "is outside the years 1 to 9999 once converted to UTC"
        ) from None
    now = datetime.now(UTC)
    if not now - EVENT_TIMES_PAST <= in_utc <= now + EVENT_TIMES_FUTURE:
        raise PydanticCustomError(
            "event_time",
            "must be within {past} days before and {future} days after now",
            {"past": EVENT_TIMES_PAST.days, "future": EVENT_TIMES_FUTURE.days},
        )
    return value


#: A time of an event (its start, the end of a type's sales), with a time zone.
EventTime = Annotated[datetime, AfterValidator(_event_time)]


class TicketTypeCreate(Strict):
    name: Annotated[str, visible_text(100)]
    price: Whole = Field(ge=0, le=10_000_000, description="Minor units (cents).")
    currency: Currency
    capacity: Whole = Field(ge=1, le=1_000_000)
    on_sale_until: EventTime | None = Field(
        default=None,
        description="When sales of this type end; unset: when the event starts. Set it later "
        "than the start to sell at the door.",
    )


class EventCreate(Strict):
    name: Name
    venue: Name
    starts_at: EventTime = Field(
        description="With a time zone, e.g. 2027-03-01T20:00:00+01:00; within a year before "
        "and ten years after now."
    )
    refund_cutoff_hours: Whole | None = Field(
        default=None,
        ge=0,
        le=24 * 365,
        description="Refunds end this long before the start.",
    )
    ticket_types: list[TicketTypeCreate] = Field(min_length=1, max_length=50)


class TicketTypePublic(BaseModel):
    id: uuid.UUID
    name: str
    price: Money
    capacity: int
    available: int
    on_sale_until: datetime = Field(description="Sales of this type end then.")


class EventPublic(BaseModel):
    id: uuid.UUID
    name: str
    venue: str
    starts_at: datetime
    status: str
    refund_cutoff_hours: int
    ticket_types: list[TicketTypePublic]
