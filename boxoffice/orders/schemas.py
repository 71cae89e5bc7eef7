"""Request and answer bodies of orders. Create schemas forbid unknown fields, so a client can
never set what it must not (a status, a price)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, EmailStr, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from boxoffice.core.http.fields import TEXT, Money, Name, Strict, Whole
from boxoffice.orders.domain import ADDONS_NEED_TICKETS, OrderStatus

#: What an order id can be (`ord_` and hex from us; the column holds 64 characters).
ORDER_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
OrderIdPath = Annotated[str, Path(pattern=ORDER_ID, description="The order's id (ord_...).")]
PaymentMethodId = Annotated[
    str, StringConstraints(pattern=r"^pm_[A-Za-z0-9_]{1,200}$", max_length=203)
]


class OrderItemIn(Strict):
    ticket_type_id: uuid.UUID
    quantity: Whole = Field(ge=1, le=100)


class AddonItemIn(Strict):
    addon_id: uuid.UUID
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
    addons: list[AddonItemIn] = Field(
        default_factory=list,
        max_length=20,
        description="Add-ons of the event (parking, merchandise), bought with the tickets; "
        "never alone.",
    )
    buyer: BuyerIn
    payment_method: PaymentMethodId | None = Field(
        default=None, description="Pay right after the seats are held, e.g. pm_card_visa."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_addons_alone(cls, data: Any) -> Any:
        """Add-ons without a ticket: say so, rather than that items is too short."""
        if isinstance(data, dict) and data.get("addons") and not data.get("items"):
            raise PydanticCustomError("addons_alone", ADDONS_NEED_TICKETS)
        return data


class OrderLine(BaseModel):
    ticket_type_id: uuid.UUID
    name: str | None = None
    quantity: int
    unit_price: int | None = None


class AddonLine(BaseModel):
    addon_id: uuid.UUID
    name: str
    quantity: int
    unit_price: int


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
    addons: list[AddonLine] = []
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
    status: Literal[OrderStatus.PENDING] = OrderStatus.PENDING
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
