"""Reconciliation's activities: read Stripe and our books. They only read, so any retry is
harmless; fixing goes through RefundLatePayment (the workflow), never from here."""

from __future__ import annotations

import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from boxoffice.orders.reconciliation import repository, stripe_side
from boxoffice.orders.reconciliation.messages import (
    Books,
    BooksRequest,
    LookUp,
    Period,
    StripeView,
)


class ReconciliationActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], client: stripe.StripeClient
    ) -> None:
        self._sessions = sessions
        self._stripe = client

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
