"""The matching rules, pure: Stripe's view and our books in, mismatches out.

Matching is by id, never by time: the period only chooses what to start from (PaymentIntents
and refunds Stripe made in it, attempts and refunds we recorded in it); everything on the other
side is looked up by id, so an object near the period's edge is not reported as missing."""

from __future__ import annotations

from collections import Counter, defaultdict

from boxoffice.orders.domain import OrderStatus
from boxoffice.orders.reconciliation.messages import (
    Books,
    Mismatch,
    MismatchKind,
    Period,
    Report,
    StripeView,
)

S = OrderStatus
#: An order in one of these keeps no payment and its run will take none: money Stripe took for
#: it is a stray payment, which `refund_stray_payment` gives back safely.
ENDED: frozenset[str] = frozenset({S.EXPIRED, S.CANCELLED, S.SOLD_OUT, S.REFUNDED})
#: Refunds that moved (or are moving) money back.
_REFUNDING = ("succeeded", "pending")
DAY = 86_400


def previous_day(now: int) -> Period:
    """The UTC day before `now` (the schedule's period)."""
    today = now - now % DAY
    return Period(today - DAY, today)


def to_look_up(view: StripeView, books: Books) -> tuple[list[str], list[str]]:
    """PaymentIntents and refunds our books name that the listing did not bring."""
    intents = {i.id for i in view.intents}
    refunds = {r.id for r in view.refunds}
    wanted_intents = {
        p.payment_intent_id for p in books.payments if p.payment_intent_id not in intents
    }
    wanted_intents |= {
        r.payment_intent_id
        for r in view.refunds
        if r.payment_intent_id and r.payment_intent_id not in intents
    }
    wanted_refunds = {
        r.stripe_refund_id
        for r in books.refunds
        if r.stripe_refund_id and r.stripe_refund_id not in refunds
    }
    return sorted(wanted_intents), sorted(wanted_refunds)


def find_mismatches(view: StripeView, books: Books) -> list[Mismatch]:
    return [
        *_paid_at_stripe(view, books),
        *_refunds_at_stripe(view, books),
        *_payments_in_books(view, books),
        *_refunds_in_books(view, books),
    ]


def _paid_at_stripe(view: StripeView, books: Books) -> list[Mismatch]:
    """Each succeeded PaymentIntent is its order's kept payment, or a stray one refunded."""
    kept = {p.payment_intent_id: p for p in books.payments if p.status == "succeeded"}
    kept_by_order = {p.order_id: p.payment_intent_id for p in kept.values()}
    stray_refunded = {r.payment_intent_id for r in books.refunds if r.kind == "stray"}
    found: list[Mismatch] = []
    for intent in view.intents:
        if intent.status != "succeeded":
            continue
        ours = kept.get(intent.id)
        if ours is not None:
            if ours.amount != intent.amount:
                found.append(
                    Mismatch(
                        MismatchKind.AMOUNT_DIFFERS,
                        "the payment's amount differs",
                        ours.order_id,
                        intent.id,
                        stripe_amount=intent.amount,
                        our_amount=ours.amount,
                    )
                )
            continue
        if intent.id in stray_refunded:
            continue  # a stray payment we gave back (or are giving back)
        status = books.order_status.get(intent.order_id or "")
        found.append(
            Mismatch(
                MismatchKind.PAID_NOT_IN_BOOKS,
                _why_not_kept(intent.order_id, status, kept_by_order.get(intent.order_id or "")),
                intent.order_id,
                intent.id,
                stripe_amount=intent.amount,
                fixable=fixable(status, kept_by_order.get(intent.order_id or "")),
            )
        )
    return found


def fixable(order_status: str | None, kept_intent: str | None) -> bool:
    """A stray payment may be refunded when its order is ours and will never keep it: the order
    has ended, or keeps another PaymentIntent. An order still paying is left to its run."""
    if order_status is None:
        return False
    return order_status in ENDED or kept_intent is not None


def _why_not_kept(order_id: str | None, status: str | None, kept_intent: str | None) -> str:
    if order_id is None:
        return "names no order"
    if status is None:
        return "names an order we do not have"
    if kept_intent is not None:
        return f"the order ({status}) keeps another payment, {kept_intent}"
    return f"the order is {status} and records no such payment"


def _refunds_at_stripe(view: StripeView, books: Books) -> list[Mismatch]:
    """Every refund at Stripe is one of our rows, and no PaymentIntent is refunded twice."""
    ours = {r.stripe_refund_id for r in books.refunds if r.stripe_refund_id}
    order_of = {p.payment_intent_id: p.order_id for p in books.payments}
    order_of |= {i.id: i.order_id for i in view.intents if i.order_id}
    amount_of = {i.id: i.amount for i in view.intents}
    found: list[Mismatch] = []
    by_intent: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
    for refund in view.refunds:
        if refund.status not in _REFUNDING:
            continue
        if refund.payment_intent_id:
            by_intent[refund.payment_intent_id].append((refund.id, refund.amount))
        if refund.id not in ours:
            found.append(
                Mismatch(
                    MismatchKind.REFUND_NOT_IN_BOOKS,
                    "a refund at Stripe that we did not record",
                    order_of.get(refund.payment_intent_id or ""),
                    refund.payment_intent_id,
                    [refund.id],
                    stripe_amount=refund.amount,
                )
            )
    for intent_id, refunds in sorted(by_intent.items()):
        total = sum(amount for _, amount in refunds)
        paid = amount_of.get(intent_id)
        if len(refunds) > 1 or (paid is not None and total > paid):
            found.append(
                Mismatch(
                    MismatchKind.REFUNDED_TWICE,
                    f"{len(refunds)} refunds, {total} refunded of {paid}",
                    order_of.get(intent_id),
                    intent_id,
                    sorted(refund_id for refund_id, _ in refunds),
                    stripe_amount=total,
                    our_amount=paid,
                )
            )
    return found


def _payments_in_books(view: StripeView, books: Books) -> list[Mismatch]:
    """Each payment we record as succeeded in the period succeeded at Stripe."""
    intents = {i.id: i for i in view.intents}
    in_period = set(books.in_period_payments)
    found: list[Mismatch] = []
    for payment in books.payments:
        if payment.status != "succeeded" or payment.payment_intent_id not in in_period:
            continue
        intent = intents.get(payment.payment_intent_id)
        if intent is not None and intent.status == "succeeded":
            continue
        found.append(
            Mismatch(
                MismatchKind.PAYMENT_NOT_AT_STRIPE,
                "Stripe has no such PaymentIntent"
                if intent is None
                else f"the PaymentIntent is {intent.status} at Stripe",
                payment.order_id,
                payment.payment_intent_id,
                stripe_amount=None if intent is None else intent.amount,
                our_amount=payment.amount,
            )
        )
    return found


def _refunds_in_books(view: StripeView, books: Books) -> list[Mismatch]:
    """Each refund we record as done in the period is at Stripe."""
    refunds = {r.id: r for r in view.refunds}
    in_period = set(books.in_period_refunds)
    found: list[Mismatch] = []
    for ours in books.refunds:
        if ours.status != "succeeded" or ours.payment_intent_id not in in_period:
            continue
        theirs = refunds.get(ours.stripe_refund_id or "")
        if theirs is not None and theirs.status in _REFUNDING:
            continue
        found.append(
            Mismatch(
                MismatchKind.REFUND_NOT_AT_STRIPE,
                f"our {ours.kind} refund "
                + ("has no Stripe id" if not ours.stripe_refund_id else "is not at Stripe")
                + ("" if theirs is None else f" ({theirs.status} there)"),
                ours.order_id,
                ours.payment_intent_id,
                [ours.stripe_refund_id] if ours.stripe_refund_id else [],
                our_amount=ours.amount,
            )
        )
    return found


def build_report(period: Period, view: StripeView, mismatches: list[Mismatch]) -> Report:
    counts = Counter(str(m.kind) for m in mismatches)
    return Report(
        period=period,
        intents_seen=sum(1 for i in view.intents if period.since <= i.created < period.until),
        refunds_seen=sum(1 for r in view.refunds if period.since <= r.created < period.until),
        mismatches=mismatches,
        counts=dict(sorted(counts.items())),
        fixed=sum(1 for m in mismatches if m.fixed == "refunded"),
    )
