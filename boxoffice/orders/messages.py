"""Dataclasses that cross the Temporal boundary: workflow input, messages and activity in/out.

One dataclass in, one out, so fields can be added without breaking running workflows
(new fields get defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from boxoffice.auth.buyer_identity import buyer_key

#: Fixed update id of the reservation, so a retried create attaches to the first answer.
RESERVATION_UPDATE_ID = "reservation"


@dataclass
class OrderItem:
    ticket_type_id: str
    quantity: int


@dataclass
class Buyer:
    email: str
    name: str
    # The token subject that placed the order; None for a guest. It owns the order and is
    # whose per-event ticket cap the order counts against (with the email and the card).
    account: str | None = None
    # The client's network, as a keyed hash (`auth/buyer_identity.py`): whose unpaid holds
    # the order counts against. None for orders created before it was counted.
    client: str | None = None

    @property
    def cap_key(self) -> str:
        return buyer_key(self.account, self.email)


@dataclass
class PipelineConfig:
    """Timeouts and retry policies, taken from settings when the order starts so the workflow
    itself reads no environment (and tests run with short ones)."""

    hold_seconds: int = 900
    payment_timeout_seconds: int = 30
    step_timeout_seconds: int = 60
    step_max_attempts: int = 5
    retry_initial_interval_seconds: float = 1.0
    retry_max_interval_seconds: float = 60.0
    order_grace_seconds: int = 7 * 24 * 3600
    payments_task_queue: str = "payments"
    fulfilment_task_queue: str = "fulfilment"
    # Support may lengthen a hold by at most this much in all.
    max_hold_extension_seconds: int = 3600
    # The hold first lasts this long, and hold_seconds once a card is tried; 0 (runs from
    # before): hold_seconds at once.
    first_hold_seconds: int = 0
    # Payment attempts the order may make in all; 0 (runs from before): no limit.
    max_payment_attempts: int = 0


@dataclass
class PurchaseInput:
    order_id: str
    event_id: str
    items: list[OrderItem]
    buyer: Buyer
    payment_method: str | None = None
    request_fingerprint: str | None = None
    config: PipelineConfig = field(default_factory=PipelineConfig)


# --- inventory ---------------------------------------------------------------------------


@dataclass
class ReserveInput:
    order_id: str
    event_id: str
    items: list[OrderItem]
    buyer: Buyer
    hold_expires_at: datetime
    request_fingerprint: str | None = None


@dataclass
class ReservedLine:
    ticket_type_id: str
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


# --- workflow messages -------------------------------------------------------------------


@dataclass
class ReservationAnswer:
    """What `POST /orders` answers: seats held until a time, or sold out."""

    order_id: str
    status: str
    hold_expires_at: datetime | None = None
    total_amount: int = 0
    currency: str = ""
    reason: str | None = None
    # Set when the status is "rejected": the failure's type (e.g. InvalidOrder).
    error_type: str | None = None


@dataclass
class PayRequest:
    payment_method: str


@dataclass
class CancelRequest:
    reason: str | None = None
    actor: str = "buyer"


@dataclass
class CancelResult:
    status: str


@dataclass
class SupportAction:
    actor: str
    reason: str


@dataclass
class ExtendHold:
    actor: str
    reason: str
    minutes: int


@dataclass
class HoldExtended:
    hold_expires_at: datetime


@dataclass
class HoldExpiryChange:
    order_id: str
    hold_expires_at: datetime


@dataclass
class ResendRequest:
    actor: str
    reason: str
    to: str | None = None


@dataclass
class ResendInput:
    order_id: str
    # The n-th resend of this order: keys its Message-ID, so a retried send is the same message.
    sequence: int
    to: str | None = None


@dataclass
class PaymentSucceeded:
    """Signal from the Stripe webhook (already signature-checked by the API)."""

    payment_intent_id: str


@dataclass
class StrayPayment:
    """A PaymentIntent Stripe says succeeded for this order, which the order may not keep."""

    order_id: str
    payment_intent_id: str


@dataclass
class StrayPaymentResult:
    """What was done with it: `refunded`, `kept` (it is the order's payment), `unpaid` (Stripe
    shows no succeeded PaymentIntent) or `unknown_order` (not one of ours: left alone)."""

    outcome: str
    refund_id: str | None = None
    amount: int = 0


@dataclass
class LatePayment:
    """Input of `RefundLatePayment`: news of a payment for an order whose run has closed."""

    order_id: str
    payment_intent_id: str
    config: PipelineConfig = field(default_factory=PipelineConfig)


@dataclass
class OrderProgress:
    """The `status` query: where the order is and what went wrong last."""

    status: str
    step: str
    hold_expires_at: datetime | None
    payment_attempts: int
    last_error: str | None
