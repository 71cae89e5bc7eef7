"""Reconciliation's activities: read Stripe and our books, and tell operators what a run found.
They only read, so any retry is harmless; fixing goes through RefundLatePayment (the workflow),
never from here."""

from __future__ import annotations

import logging

import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from boxoffice.core.observability.worker_metrics import WorkerMetrics, worker_metrics
from boxoffice.orders.reconciliation import repository, stripe_side
from boxoffice.orders.reconciliation.messages import (
    Books,
    BooksRequest,
    LookUp,
    Mismatch,
    MismatchesFound,
    MismatchKind,
    Period,
    StripeView,
)

#: Not Temporal's activity logger: that one names the reconciliation's run as the line's order.
log = logging.getLogger("boxoffice.reconciliation")
#: What fixing a stray payment can come to (RefundLatePayment's outcomes, and the run's own).
FIX_OUTCOMES = ("refunded", "kept", "unpaid", "unknown_order", "already_started")


class ReconciliationActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: stripe.StripeClient,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._stripe = client
        self._metrics = metrics if metrics is not None else worker_metrics()
        # Every kind and outcome from the start, so an alert on a rise sees zeros, not gaps.
        for kind in MismatchKind:
            self._metrics.reconciliation_mismatches.labels(kind.value)
        for outcome in FIX_OUTCOMES:
            self._metrics.reconciliation_fixes.labels(outcome)

    @activity.defn(name="list_stripe_period")
    async def list_stripe_period(self, period: Period) -> StripeView:
        """Succeeded PaymentIntents and refunds that Stripe created in the period."""
        v1 = self._stripe.v1
        intents = await stripe_side.list_period(v1.payment_intents.list_async, period)
        refunds = await stripe_side.list_period(v1.refunds.list_async, period)
        return StripeView(
            intents=[stripe_side.intent_of(i) for i in intents if i.status == "succeeded"],
            refunds=[stripe_side.refund_of(r) for r in refunds],
        )

    @activity.defn(name="look_up_at_stripe")
    async def look_up_at_stripe(self, wanted: LookUp) -> StripeView:
        """PaymentIntents and refunds by id (whatever their status); `missing` names the ones
        Stripe does not have."""
        v1 = self._stripe.v1
        view = StripeView()
        for intent_id in wanted.intent_ids:
            found = await stripe_side.retrieve(v1.payment_intents.retrieve_async, intent_id)
            if found is None:
                view.missing.append(intent_id)
            else:
                view.intents.append(stripe_side.intent_of(found))
        for refund_id in wanted.refund_ids:
            found = await stripe_side.retrieve(v1.refunds.retrieve_async, refund_id)
            if found is None:
                view.missing.append(refund_id)
            else:
                view.refunds.append(stripe_side.refund_of(found))
        return view

    @activity.defn(name="read_books")
    async def read_books(self, request: BooksRequest) -> Books:
        async with self._sessions() as session:
            return await repository.read_books(
                session, request.period, request.intent_ids, request.order_ids
            )

    @activity.defn(name="record_mismatches")
    async def record_mismatches(self, found: MismatchesFound) -> None:
        """One warning line and one count per mismatch, and a count per fixing outcome, on the
        payments worker that runs it (its METRICS_PORT). Ids and amounts only: nothing of a
        card or a buyer is in a mismatch. A retry (this worker died mid-way) counts again."""
        run = activity.info().workflow_id
        for mismatch in found.mismatches:
            self._metrics.reconciliation_mismatches.labels(mismatch.kind.value).inc()
            if mismatch.fixed is not None:
                self._metrics.reconciliation_fixes.labels(mismatch.fixed).inc()
            log.warning(
                "reconciliation mismatch %s: %s",
                mismatch.kind.value,
                mismatch.detail,
                extra=_fields(mismatch, found.period, run),
            )


def _fields(mismatch: Mismatch, period: Period, run: str | None) -> dict[str, object]:
    fields: dict[str, object] = {
        "kind": mismatch.kind.value,
        "payment_intent_id": mismatch.payment_intent_id,
        "amount": mismatch.stripe_amount
        if mismatch.stripe_amount is not None
        else mismatch.our_amount,
        "stripe_amount": mismatch.stripe_amount,
        "our_amount": mismatch.our_amount,
        "refund_ids": mismatch.refund_ids,
        "fixed": mismatch.fixed,
        "reconciliation_id": run,
        "period_since": period.since,
        "period_until": period.until,
    }
    # Only when known: an empty one would be filled with the reconciliation's own run id.
    if mismatch.order_id:
        fields["order_id"] = mismatch.order_id
    return fields
