"""Request and response bodies. Create schemas forbid unknown fields, so a client can never set
what it must not (a status, a price)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

#: Characters no name or reason may hold: control characters (NUL, which PostgreSQL cannot
#: store; line breaks and terminal escapes, which would reach emails, PDFs and the support CLI)
#: and the invisible marks that reorder text (bidi overrides and isolates: "Ada\u202egnp.exe").
_UNSAFE = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
#: At least one character that is not blank in Python, JSON Schema (ECMA) or Rust regexes alike,
#: so what the schema admits is never stripped to nothing here (nor only zero-width), and
#: nothing unsafe.
VISIBLE = rf"^[^{_UNSAFE}]*[^\s{_UNSAFE}\u200b-\u200d\ufeff][^{_UNSAFE}]*$"
#: Free text (a reason): line breaks and tabs allowed, nothing else unsafe.
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
#: No NUL anywhere: PostgreSQL cannot store it in text.
NO_NUL = r"^[^\x00]*$"
#: What a refused pattern means, said in words (the patterns themselves are in the schema).
PATTERN_MEANS = {
    VISIBLE: "must not be blank, nor hold control characters or invisible bidi marks",
    TEXT: "must not hold control characters (line breaks and tabs aside) or bidi marks",
    NO_NUL: "must not hold NUL characters",
}
#: What an order id can be (`ord_` and hex from us; the column holds 64 characters).
ORDER_ID = r"^[A-Za-z0-9_.:-]{1,64}$"


def visible_text(max_length: int) -> object:
    """Text that is not blank, trimmed, at most `max_length` characters."""
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=VISIBLE
    )


Name = Annotated[str, visible_text(200)]
OrderIdPath = Annotated[str, Path(pattern=ORDER_ID, description="The order's id (ord_...).")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
PaymentMethodId = Annotated[
    str, StringConstraints(pattern=r"^pm_[A-Za-z0-9_]{1,200}$", max_length=203)
]


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


def _a_number(value: object) -> object:
    """JSON `"1"` and `true` are not numbers, though lax validation would take them; `1.0`
    is one (JSON Schema's integer)."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("whole_number", "must be a JSON number, not a string or boolean")
    return value


#: A whole number as JSON sends it.
Whole = Annotated[int, BeforeValidator(_a_number)]


class Strict(BaseModel):
    """A request body: unknown fields are refused, and numbers are `Whole`."""

    model_config = ConfigDict(extra="forbid")


class Money(BaseModel):
    amount: int = Field(description="In the currency's minor unit (cents).")
    currency: str


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


class OrderItemIn(Strict):
    ticket_type_id: uuid.UUID
    quantity: Whole = Field(ge=1, le=100)


class BuyerIn(Strict):
    email: EmailStr = Field(
        description="Where the tickets go. Reserved domains (.test, .local, .invalid, "
        ".localhost, .onion, .arpa) are refused: mail to them is never delivered."
    )
    name: Name


class OrderCreate(Strict):
    event_id: uuid.UUID
    items: list[OrderItemIn] = Field(min_length=1, max_length=20)
    buyer: BuyerIn
    payment_method: PaymentMethodId | None = Field(
        default=None, description="Pay right after the seats are held, e.g. pm_card_visa."
    )


class OrderLine(BaseModel):
    ticket_type_id: uuid.UUID
    name: str | None = None
    quantity: int
    unit_price: int | None = None


class TicketPublic(BaseModel):
    id: uuid.UUID
    ticket_type_id: uuid.UUID
    code: str = Field(description="The signed code shown in the ticket's QR.")
    status: str


class BuyerPublic(BaseModel):
    email: str
    name: str


class OrderPublic(BaseModel):
    id: str
    status: str
    event_id: uuid.UUID
    buyer: BuyerPublic
    items: list[OrderLine]
    total: Money
    hold_expires_at: datetime | None
    last_error: str | None
    tickets: list[TicketPublic] = []
    tickets_pdf_url: str | None = None
    created_at: datetime
    updated_at: datetime
    access_token: str | None = Field(
        default=None,
        description="Only in the answer to a guest's POST /orders (none for an account's "
        "order): send it as X-Order-Token to read, pay, cancel or download this order; in a "
        "URL (?token=) it opens only the tickets PDF. A retried create with the same "
        "Idempotency-Key returns it again. It lapses once the event is over.",
    )


class OrderPending(BaseModel):
    """The reservation was not decided in time; poll the Location."""

    id: str
    status: Literal["pending"] = "pending"
    detail: str
    access_token: str | None = Field(
        default=None, description="As in the answer to a decided create."
    )


class PaymentIn(Strict):
    payment_method: PaymentMethodId


class PaymentOutcome(BaseModel):
    status: Literal["succeeded", "declined", "requires_action"]
    decline_reason: str | None = None
    payment_intent_id: str | None = None
    client_secret: str | None = Field(
        default=None, description="For Stripe.js to finish 3-D Secure (requires_action)."
    )
    order: OrderPublic | None = None


class CancelIn(Strict):
    reason: Annotated[str, StringConstraints(max_length=500, pattern=TEXT)] | None = None


class ErrorBody(BaseModel):
    detail: str
