"""Request and answer bodies of the catalogue: events and their ticket types."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from boxoffice.core.http.fields import (
    TEXT,
    Currency,
    Money,
    Name,
    Strict,
    Whole,
    a_number,
    visible_text,
)
from boxoffice.events.domain import EventStatus

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


Description = Annotated[str, StringConstraints(max_length=5000, pattern=TEXT)]
#: What an organiser may set an event to by PATCH (cancel and postpone have routes of their own).
SettableStatus = Literal[EventStatus.ON_SALE, EventStatus.SALES_CLOSED, EventStatus.OVER]

_ON_SALE_FROM = "When sales of this type open; unset: at once."
_ON_SALE_UNTIL = (
    "When sales of this type end; unset: when the event starts. Set it later than the start to "
    "sell at the door."
)
_HIDDEN = "Not listed and not sold (a tier replaced by the next one)."
#: In a PATCH body, a field that may not be empty: left out it keeps its value; `null` is not
#: in the schema, and `Patch` refuses it with the field's name.
NotNull = SkipJsonSchema[None]
#: Bounds in the type, so they stay on the number inside a union (`Price | NotNull`).
Price = Annotated[int, Field(ge=0, le=10_000_000), BeforeValidator(a_number)]
Capacity = Annotated[int, Field(ge=0, le=1_000_000), BeforeValidator(a_number)]
PerOrder = Annotated[int, Field(ge=1, le=100), BeforeValidator(a_number)]
CutoffHours = Annotated[int, Field(ge=0, le=24 * 365), BeforeValidator(a_number)]


class Patch(Strict):
    """A PATCH body: only the fields sent change; `null` clears only what may be empty."""

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Patch:
        nulled = sorted(
            name
            for name in self.model_fields_set
            if getattr(self, name) is None and not _nullable(type(self).model_fields[name])
        )
        if nulled:
            raise PydanticCustomError(
                "not_nullable",
                "{fields}: may not be null (leave a field out to keep it)",
                {"fields": ", ".join(nulled)},
            )
        return self


def _nullable(field: FieldInfo) -> bool:
    """`X | None` (`X | NotNull` has an annotated None, not None itself, among its args)."""
    return type(None) in get_args(field.annotation)


class TicketTypeCreate(Strict):
    name: Annotated[str, visible_text(100)]
    price: Whole = Field(ge=0, le=10_000_000, description="Minor units (cents).")
    currency: Currency
    capacity: Whole = Field(ge=1, le=1_000_000)
    on_sale_from: EventTime | None = Field(default=None, description=_ON_SALE_FROM)
    on_sale_until: EventTime | None = Field(default=None, description=_ON_SALE_UNTIL)
    hidden: bool = Field(default=False, strict=True, description=_HIDDEN)


class TicketTypeUpdate(Patch):
    """Only the fields sent change; `null` clears a sales window's end or start. A new price
    applies to new orders only: an order keeps what it was charged."""

    name: Annotated[str, visible_text(100)] | NotNull = Field(default=None)
    price: Price | NotNull = Field(default=None)
    currency: Currency | NotNull = Field(
        default=None, description="Only while no order holds or bought this type."
    )
    capacity: Capacity | NotNull = Field(
        default=None, description="Up at any time; down never below the tickets sold and held."
    )
    on_sale_from: EventTime | None = Field(default=None, description=_ON_SALE_FROM)
    on_sale_until: EventTime | None = Field(default=None, description=_ON_SALE_UNTIL)
    hidden: StrictBool | NotNull = Field(default=None, description=_HIDDEN)


class AddonCreate(Strict):
    name: Annotated[str, visible_text(100)]
    description: Annotated[str, StringConstraints(max_length=500, pattern=TEXT)] | None = None
    price: Whole = Field(ge=0, le=10_000_000, description="Minor units (cents).")
    currency: Currency = Field(description="The event's tickets' currency.")
    stock: Whole = Field(ge=1, le=1_000_000)
    max_per_order: Whole = Field(default=10, ge=1, le=100)
    hidden: bool = Field(default=False, strict=True, description="Not listed and not sold.")


class AddonUpdate(Patch):
    """Only the fields sent change. A new price applies to new orders only."""

    name: Annotated[str, visible_text(100)] | NotNull = Field(default=None)
    description: Annotated[str, StringConstraints(max_length=500, pattern=TEXT)] | None = None
    price: Price | NotNull = Field(default=None)
    stock: Capacity | NotNull = Field(
        default=None, description="Down never below what is sold and held."
    )
    max_per_order: PerOrder | NotNull = Field(default=None)
    hidden: StrictBool | NotNull = Field(default=None)


class EventCreate(Strict):
    name: Name
    venue: Name
    description: Description | None = None
    starts_at: EventTime = Field(
        description="With a time zone, e.g. 2027-03-01T20:00:00+01:00; within a year before "
        "and ten years after now."
    )
    ends_at: EventTime | None = Field(default=None, description="After starts_at.")
    refund_cutoff_hours: Whole | None = Field(
        default=None,
        ge=0,
        le=24 * 365,
        description="Refunds end this long before the start.",
    )
    status: Literal[EventStatus.DRAFT, EventStatus.ON_SALE] = Field(
        default=EventStatus.ON_SALE,
        description="draft: not listed, not on sale until PATCHed to on_sale.",
    )
    ticket_types: list[TicketTypeCreate] = Field(min_length=1, max_length=50)
    addons: list[AddonCreate] = Field(
        default_factory=list, max_length=50, description="Sold with the tickets, never alone."
    )


class EventUpdate(Patch):
    """Only the fields sent change (`null` clears the description or the end)."""

    name: Name | NotNull = Field(default=None)
    venue: Name | NotNull = Field(default=None)
    description: Description | None = None
    starts_at: EventTime | NotNull = Field(
        default=None, description="To move the date of an event with buyers, postpone it."
    )
    ends_at: EventTime | None = None
    refund_cutoff_hours: CutoffHours | NotNull = Field(default=None)
    status: SettableStatus | NotNull = Field(default=None)


class TicketTypePublic(BaseModel):
    id: uuid.UUID
    name: str
    price: Money
    capacity: int
    available: int
    on_sale_from: datetime | None = Field(default=None, description="Sales open then.")
    on_sale_until: datetime = Field(description="Sales of this type end then.")


class TicketTypeAdmin(TicketTypePublic):
    hidden: bool


class AddonPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None = None
    price: Money
    stock: int
    available: int
    max_per_order: int


class AddonAdmin(AddonPublic):
    hidden: bool


class EventPublic(BaseModel):
    id: uuid.UUID
    name: str
    venue: str
    description: str | None = None
    starts_at: datetime
    ends_at: datetime | None = None
    status: str
    refund_cutoff_hours: int
    ticket_types: list[TicketTypePublic]
    addons: list[AddonPublic] = Field(default=[], description="Sold with the tickets.")


class EventAdmin(EventPublic):
    """The event as its organiser sees it: drafts, and hidden ticket types too."""

    ticket_types: list[TicketTypeAdmin]  # type: ignore[assignment]
    addons: list[AddonAdmin] = []  # type: ignore[assignment]
