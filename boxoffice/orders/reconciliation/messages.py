"""Dataclasses that cross the Temporal boundary for reconciliation: what Stripe shows, what our
books say, and the report. Times are Unix seconds, as Stripe gives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from boxoffice.orders.messages import PipelineConfig


class MismatchKind(StrEnum):
    #: A succeeded PaymentIntent whose order does not keep it (unknown, ended, paid otherwise).
    PAID_NOT_IN_BOOKS = "paid_not_in_books"
    #: A refund at Stripe that no row of ours records.
    REFUND_NOT_IN_BOOKS = "refund_not_in_books"
    #: More than one refund of a PaymentIntent, or more refunded than it took.
    REFUNDED_TWICE = "refunded_twice"
    #: We record a payment whose PaymentIntent Stripe does not show as succeeded.
    PAYMENT_NOT_AT_STRIPE = "payment_not_at_stripe"
    #: We record a refund Stripe does not have (or shows failed).
    REFUND_NOT_AT_STRIPE = "refund_not_at_stripe"
    #: Both sides have the payment, for different amounts.
    AMOUNT_DIFFERS = "amount_differs"


@dataclass
class Period:
    """[since, until) in Unix seconds."""

    since: int
    until: int


@dataclass
class StripeIntent:
    id: str
    status: str
    amount: int
    currency: str
    created: int
    order_id: str | None = None


@dataclass
class StripeRefund:
    id: str
    payment_intent_id: str | None
    amount: int
    status: str
    created: int


@dataclass
class StripeView:
    """What Stripe shows: succeeded PaymentIntents created in the period, refunds created in it,
    and whatever was looked up by id besides (PaymentIntents of those refunds, our records')."""

    intents: list[StripeIntent] = field(default_factory=list)
    refunds: list[StripeRefund] = field(default_factory=list)
    #: PaymentIntents and refunds looked up by id that Stripe does not have.
    missing: list[str] = field(default_factory=list)


@dataclass
class BookPayment:
    """A payment attempt of ours."""

    order_id: str
    payment_intent_id: str
    amount: int
    status: str


@dataclass
class BookRefund:
    """A refund row of ours: an order's (`order`) or a stray payment's (`stray`)."""

    order_id: str
    payment_intent_id: str
    stripe_refund_id: str | None
    amount: int
    status: str
    kind: str = "order"


@dataclass
class Books:
    """Our side: orders' statuses, attempts and refunds that concern the period."""

    order_status: dict[str, str] = field(default_factory=dict)
    payments: list[BookPayment] = field(default_factory=list)
    refunds: list[BookRefund] = field(default_factory=list)
    #: PaymentIntent ids of the succeeded attempts and of the refunds recorded in the period
    #: (the other rows are context for Stripe's objects).
    in_period_payments: list[str] = field(default_factory=list)
    in_period_refunds: list[str] = field(default_factory=list)


@dataclass
class Mismatch:
    kind: MismatchKind
    detail: str
    order_id: str | None = None
    payment_intent_id: str | None = None
    refund_ids: list[str] = field(default_factory=list)
    stripe_amount: int | None = None
    our_amount: int | None = None
    #: Safe to fix by refunding a stray payment (see rules.fixable).
    fixable: bool = False
    #: What fixing did: refunded, kept, unpaid, unknown_order, already_started.
    fixed: str | None = None


@dataclass
class MismatchesFound:
    """Input of `record_mismatches`: a run's mismatches, after any fixing."""

    period: Period
    mismatches: list[Mismatch] = field(default_factory=list)


@dataclass
class ReconcileInput:
    """None for `since`/`until`: the day (UTC) before the run started (the schedule's case)."""

    since: int | None = None
    until: int | None = None
    fix: bool = False
    config: PipelineConfig = field(default_factory=PipelineConfig)


@dataclass
class Report:
    period: Period
    intents_seen: int = 0
    refunds_seen: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    #: Mismatches per kind (kinds with none left out).
    counts: dict[str, int] = field(default_factory=dict)
    fixed: int = 0


@dataclass
class Progress:
    """The `progress` query: where a run is."""

    step: str = "starting"
    mismatches: int = 0
    fixed: int = 0


@dataclass
class BooksRequest:
    """Input of `read_books`: the period, and the PaymentIntents and orders Stripe named."""

    period: Period
    intent_ids: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)


@dataclass
class LookUp:
    """Input of `look_up_at_stripe`: ids to retrieve one by one."""

    intent_ids: list[str] = field(default_factory=list)
    refund_ids: list[str] = field(default_factory=list)
