"""The order's run's messages: its updates, queries and signals, and their answers."""

# No `from __future__ import annotations` here: workflow code imports the package, so the
# workflow sandbox knows the package but not this module, and string hints would not resolve.

from dataclasses import dataclass, field
from datetime import datetime

from boxoffice.orders.messages.order import PipelineConfig

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
    #: Until when the buyer may cancel a paid order (moved by a postponement); None before
    #: the reservation.
    refund_deadline: datetime | None = None


@dataclass
class EventMoved:
    """Signal from a postponement: the event's new start (the run stays open until it is over)
    and until when the buyer may still cancel a paid order."""

    starts_at: datetime
    refund_deadline: datetime
    #: The postponement's number: news of an earlier one arriving late is ignored.
    number: int = 0
