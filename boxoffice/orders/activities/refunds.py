"""Stripe refunds: an order's payment, and payments an order does not keep.

One row per order (per PaymentIntent for a stray payment) is written and locked before Stripe
is asked, and Stripe's refunds of the PaymentIntent are listed before a new one is created, so
each is refunded at most once, however often the activity runs (the emulator ignores
idempotency keys)."""

from __future__ import annotations

import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import Order
from boxoffice.orders.messages import RefundInput, RefundResult, StrayPayment, StrayPaymentResult
from boxoffice.orders.repository import payments

#: Stripe will not give the money back; support takes the order from there.
REFUND_REFUSED = "RefundRefused"


class RefundActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], client: stripe.StripeClient
    ) -> None:
        self._sessions = sessions
        self._stripe = client

    @activity.defn(name="refund_payment")
    async def refund_payment(self, request: RefundInput) -> RefundResult:
        """Refund the order's successful payment, at most once."""
        async with self._sessions() as session, session.begin():
            paid = await payments.kept(session, request.order_id)
            if paid is None:
                return RefundResult(refund_id=None, amount=0)
            # Locked: concurrent runs of this activity for one order wait for each other.
            refund = await payments.claim_refund(session, request.order_id, paid, request.reason)
            if refund.status == "succeeded":
                return RefundResult(refund_id=refund.stripe_refund_id, amount=refund.amount)
            refund.stripe_refund_id = await self._refund_intent(
                refund.payment_intent_id, f"boxoffice-refund-{request.order_id}"
            )
            refund.status = "succeeded"
            return RefundResult(refund_id=refund.stripe_refund_id, amount=refund.amount)

    @activity.defn(name="refund_stray_payment")
    async def refund_stray_payment(self, stray: StrayPayment) -> StrayPaymentResult:
        """Refund a payment that succeeded for an order which does not keep it: the order paid
        with another PaymentIntent, or had ended (expired, cancelled) when the money came.

        Only what Stripe itself shows is trusted: a succeeded PaymentIntent whose metadata names
        an order of ours. The order's own payment is never touched here (`refund_payment` owns
        it), and each stray PaymentIntent is refunded at most once (row locked, Stripe's refunds
        listed before one is created)."""
        try:
            intent = await self._stripe.v1.payment_intents.retrieve_async(stray.payment_intent_id)
        except stripe.InvalidRequestError as unknown:
            if unknown.http_status != 404:
                raise
            return StrayPaymentResult(outcome="unpaid")
        if intent.status != "succeeded":
            return StrayPaymentResult(outcome="unpaid")
        metadata = intent.metadata.to_dict() if "metadata" in intent else {}
        async with self._sessions() as session, session.begin():
            if metadata.get("order_id") != stray.order_id or (
                await session.get(Order, stray.order_id) is None
            ):
                activity.logger.warning(
                    "PaymentIntent %s names no order of ours; left alone", intent.id
                )
                return StrayPaymentResult(outcome="unknown_order")
            kept = await payments.kept(session, stray.order_id)
            if kept is not None and kept.payment_intent_id == intent.id:
                return StrayPaymentResult(outcome="kept")
            refund = await payments.claim_stray_refund(
                session, intent.id, stray.order_id, intent.amount, str(intent.currency).upper()
            )
            if refund.status != "succeeded":
                refund.stripe_refund_id = await self._refund_intent(
                    intent.id, f"boxoffice-stray-refund-{intent.id}"
                )
                refund.status = "succeeded"
                activity.logger.warning(
                    "order %s: stray payment %s refunded (%s)",
                    stray.order_id,
                    intent.id,
                    refund.stripe_refund_id,
                )
            return StrayPaymentResult(
                outcome="refunded", refund_id=refund.stripe_refund_id, amount=refund.amount
            )

    async def _refund_intent(self, payment_intent_id: str, idempotency_key: str) -> str:
        """The id of the PaymentIntent's refund: the one Stripe already has, else a new one.
        Listing first is what keeps a retry from refunding twice (the emulator ignores keys)."""
        existing = await self._stripe.v1.refunds.list_async(
            params={"payment_intent": payment_intent_id}
        )
        done = [r for r in existing.data if r.status in ("succeeded", "pending")]
        if done:
            return str(done[0].id)
        try:
            stripe_refund = await self._stripe.v1.refunds.create_async(
                params={"payment_intent": payment_intent_id},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as refused:
            # Stripe will not refund it (disputed, too old...): retrying cannot change that,
            # so the order goes to support instead (needs_attention).
            raise ApplicationError(
                f"Stripe refused the refund: {refused.user_message or refused}",
                type=REFUND_REFUSED,
                non_retryable=True,
            ) from None
        if stripe_refund.status == "failed":
            raise ApplicationError(
                f"Stripe refund {stripe_refund.id} failed", type=REFUND_REFUSED, non_retryable=True
            )
        return str(stripe_refund.id)
