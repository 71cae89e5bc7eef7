"""The activities' inputs and outputs: inventory, payments, fulfilment."""

# No `from __future__ import annotations` here: workflow code imports the package, so the
# workflow sandbox knows the package but not this module, and string hints would not resolve.

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from boxoffice.orders.messages.order import AddonItem, Buyer, OrderItem

# --- inventory ---------------------------------------------------------------------------


@dataclass
class ReserveInput:
    order_id: str
    event_id: str
    items: list[OrderItem]
    buyer: Buyer
    hold_expires_at: datetime
    request_fingerprint: str | None = None
    addons: list[AddonItem] = field(default_factory=list)


@dataclass
class ReservedLine:
    ticket_type_id: str
    name: str
    quantity: int
    unit_price: int


@dataclass
class ReservedAddon:
    addon_id: str
    name: str
    quantity: int
    unit_price: int


@dataclass
class ReserveResult:
    reserved: bool
    reason: str | None = None
    total_amount: int = 0
    currency: str = ""
    lines: list[ReservedLine] = field(default_factory=list)
    hold_expires_at: datetime | None = None
    # The last moment a buyer may still cancel a paid order for a refund.
    refund_deadline: datetime | None = None
    # The workflow stays open until this plus the grace period, for refunds and resends.
    event_starts_at: datetime | None = None
    # Runs from before add-ons were sold have none.
    addons: list[ReservedAddon] = field(default_factory=list)


@dataclass
class ReleaseInput:
    order_id: str
    final_status: str
    reason: str | None = None


@dataclass
class ReleaseResult:
    seats_released: int


@dataclass
class OrderRef:
    order_id: str


@dataclass
class StatusChange:
    """Move the order row to a status; refused silently when the current one does not allow it."""

    order_id: str
    status: str
    error: str | None = None


@dataclass
class Done:
    """Output of an activity whose effect is all it has to say."""

    changed: bool = True


# --- payments ----------------------------------------------------------------------------


PaymentOutcome = Literal["succeeded", "declined", "requires_action"]


@dataclass
class PayInput:
    order_id: str
    attempt: int
    amount: int
    currency: str
    payment_method: str
    buyer_email: str


@dataclass
class PayResult:
    status: PaymentOutcome
    payment_intent_id: str | None = None
    decline_reason: str | None = None
    client_secret: str | None = None


@dataclass
class SettleInput:
    """Decide an attempt's PaymentIntent: read it, and cancel it unless it already succeeded."""

    order_id: str
    attempt: int
    cancel_if_unpaid: bool = True


@dataclass
class RefundInput:
    order_id: str
    reason: str | None = None


@dataclass
class RefundResult:
    refund_id: str | None
    amount: int


# --- fulfilment --------------------------------------------------------------------------


@dataclass
class IssuedTicket:
    ticket_id: str
    ticket_type_id: str
    position: int
    code: str


@dataclass
class IssuedTickets:
    tickets: list[IssuedTicket]


@dataclass
class StoredDocument:
    key: str


@dataclass
class EmailSent:
    message_id: str
    recipient: str
