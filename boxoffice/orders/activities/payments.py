"""Stripe: charge an order's payment and settle an attempt left open (refunds: refunds.py).

Idempotency does not rely on Stripe's idempotency keys alone (the local emulator ignores them):
each attempt's PaymentIntent id is recorded with the order *before* it is confirmed, and a retry
reads that PaymentIntent's status before doing anything else, so a card is never confirmed twice.
"""

from __future__ import annotations

from typing import Any

import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import Order
from boxoffice.core.settings import Settings
from boxoffice.orders.messages import (
    PayInput,
    PayResult,
    SettleInput,
)
from boxoffice.orders.repository import limits, orders, payments

#: Error types the workflow treats as the buyer's answer, not as an outage.
CARD_DECLINED = "CardDeclined"
PAYMENT_METHOD_INVALID = "PaymentMethodInvalid"
#: The payment would take the buyer (account, mailbox or card) past the per-event cap.
TICKET_CAP_REACHED = "TicketCapReached"

_UNFINISHED = ("requires_payment_method", "requires_confirmation", "requires_action")


def make_stripe_client(settings: Settings) -> stripe.StripeClient:
    """A client whose retries are Temporal's (max_network_retries=0)."""
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else {}
    return stripe.StripeClient(
        settings.stripe_key(),
        base_addresses=base,  # type: ignore[arg-type]
        max_network_retries=0,
        http_client=stripe.HTTPXClient(timeout=20),
    )


class PaymentActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: stripe.StripeClient,
        max_tickets_per_buyer: int = 0,
    ) -> None:
        self._sessions = sessions
        self._stripe = client
        # Per buyer and event (account, mailbox, card); 0: no cap, nothing counted.
        self._buyer_cap = max_tickets_per_buyer

    @activity.defn(name="charge_payment")
    async def charge_payment(self, request: PayInput) -> PayResult:
        """One payment attempt: create (or find) its PaymentIntent, record it, confirm it.

        A decline raises a non-retryable `CardDeclined` after recording it; network and server
        errors raise as they are, and Temporal retries them, reading the recorded intent first."""
        if request.amount == 0:
            await self._count_for_buyer(request.order_id, card=None)
            await self._record_outcome(request.order_id, request.attempt, "succeeded", None)
            return PayResult(status="succeeded")
        async with self._sessions() as session:
            attempt = await payments.attempt(session, request.order_id, request.attempt)
        if attempt is None:
            if self._buyer_cap:
                card = await self._card_fingerprint(request.payment_method)
                await self._count_for_buyer(request.order_id, card)
            intent_id = await self._create_intent(request)
        else:
            intent_id = attempt.payment_intent_id
            intent = await self._stripe.v1.payment_intents.retrieve_async(intent_id)
            if intent.status != "requires_confirmation":
                return await self._conclude(request.order_id, request.attempt, intent)
        try:
            intent = await self._stripe.v1.payment_intents.confirm_async(intent_id)
        except stripe.CardError as declined:
            reason = declined.user_message or str(declined) or "The card was declined."
            await self._record_outcome(request.order_id, request.attempt, "declined", reason)
            raise ApplicationError(reason, type=CARD_DECLINED, non_retryable=True) from None
        except stripe.InvalidRequestError:
            # E.g. a confirm that landed before a lost response: decide from the intent itself.
            intent = await self._stripe.v1.payment_intents.retrieve_async(intent_id)
        return await self._conclude(request.order_id, request.attempt, intent)

    async def _card_fingerprint(self, payment_method: str) -> str | None:
        """What Stripe knows about the card: the same card under any PaymentMethod."""
        try:
            method = await self._stripe.v1.payment_methods.retrieve_async(payment_method)
        except stripe.InvalidRequestError as invalid:
            raise _method_refused(invalid) from None
        card = method.card if "card" in method else None
        fingerprint = card.fingerprint if card is not None and "fingerprint" in card else None
        return str(fingerprint) if fingerprint else None

    async def _count_for_buyer(self, order_id: str, card: str | None) -> None:
        """Count the order's tickets against its buyer's cap for the event, under the account,
        the mailbox and the card, before any money moves. A retry finds them counted; a
        decline gives them back (`_record_outcome`)."""
        if not self._buyer_cap:
            return
        async with self._sessions() as session, session.begin():
            order = await session.get(Order, order_id)
            if order is None:
                raise ApplicationError(f"order {order_id} has no row", type="OrderMissing")
            keys = limits.paid_keys(
                order.event_id, account=order.owner_sub, email=order.buyer_email, card=card
            )
            tickets = sum(int(line["quantity"]) for line in order.items)
            refused = await limits.count(
                session, order_id, keys, tickets, self._buyer_cap, until_paid=False
            )
            if refused is None:
                return
            await session.rollback()
        reason = (
            f"At most {self._buyer_cap} tickets per buyer for this event, and "
            f"{_whose(refused)} has reached it."
        )
        async with self._sessions() as session, session.begin():
            # The buyer reads why on the order (a payment sent with the create has no answer).
            await orders.note_error_while_held(session, order_id, reason)
        raise ApplicationError(reason, type=TICKET_CAP_REACHED, non_retryable=True)

    async def _create_intent(self, request: PayInput) -> str:
        try:
            intent = await self._stripe.v1.payment_intents.create_async(
                params={
                    "amount": request.amount,
                    "currency": request.currency.lower(),
                    "payment_method": request.payment_method,
                    "metadata": {"order_id": request.order_id, "attempt": str(request.attempt)},
                },
                options={"idempotency_key": f"boxoffice-{request.order_id}-{request.attempt}"},
            )
        except stripe.InvalidRequestError as invalid:
            # Stripe refuses an unknown or unusable payment method before any money moves.
            raise _method_refused(invalid) from None
        async with self._sessions() as session, session.begin():
            await payments.record_attempt(
                session,
                request.order_id,
                request.attempt,
                intent.id,
                request.amount,
                request.currency,
            )
        return intent.id

    async def _conclude(self, order_id: str, attempt: int, intent: Any) -> PayResult:
        status = intent.status
        if status == "succeeded":
            await self._record_outcome(order_id, attempt, "succeeded", None)
            return PayResult(status="succeeded", payment_intent_id=intent.id)
        if status == "requires_action":
            await self._record_outcome(order_id, attempt, "requires_action", None)
            return PayResult(
                status="requires_action",
                payment_intent_id=intent.id,
                client_secret=intent.client_secret,
            )
        if status in ("requires_payment_method", "canceled"):
            reason = _decline_reason(intent)
            await self._record_outcome(order_id, attempt, "declined", reason)
            raise ApplicationError(reason, type=CARD_DECLINED, non_retryable=True)
        # processing: Stripe has not decided; let Temporal ask again later.
        raise ApplicationError(f"PaymentIntent {intent.id} is {status}", type="PaymentPending")

    @activity.defn(name="settle_payment")
    async def settle_payment(self, request: SettleInput) -> PayResult:
        """Decide an attempt left open (3-D Secure, or a charge whose outcome was lost): if it
        succeeded the order is paid; otherwise it is cancelled at Stripe (when asked) so it can
        never succeed later. A cancel refused because it just succeeded counts as paid."""
        async with self._sessions() as session:
            attempt = await payments.attempt(session, request.order_id, request.attempt)
        if attempt is None:
            return PayResult(status="declined", decline_reason="No payment was started.")
        intent = await self._stripe.v1.payment_intents.retrieve_async(attempt.payment_intent_id)
        if intent.status in _UNFINISHED and request.cancel_if_unpaid:
            try:
                intent = await self._stripe.v1.payment_intents.cancel_async(intent.id)
            except stripe.InvalidRequestError:
                intent = await self._stripe.v1.payment_intents.retrieve_async(intent.id)
        if intent.status == "succeeded":
            await self._record_outcome(request.order_id, request.attempt, "succeeded", None)
            return PayResult(status="succeeded", payment_intent_id=intent.id)
        if intent.status == "requires_action":
            return PayResult(
                status="requires_action",
                payment_intent_id=intent.id,
                client_secret=intent.client_secret,
            )
        reason = _decline_reason(intent)
        await self._record_outcome(request.order_id, request.attempt, "declined", reason)
        return PayResult(status="declined", payment_intent_id=intent.id, decline_reason=reason)

    async def _record_outcome(
        self, order_id: str, attempt: int, outcome: str, reason: str | None
    ) -> None:
        """The attempt's outcome and the order's status, in one transaction."""
        async with self._sessions() as session, session.begin():
            await payments.record_outcome(session, order_id, attempt, outcome, reason)


def _method_refused(invalid: stripe.InvalidRequestError) -> ApplicationError:
    return ApplicationError(
        f"The payment method was refused: {invalid.user_message or 'invalid request'}",
        type=PAYMENT_METHOD_INVALID,
        non_retryable=True,
    )


def _whose(key: str) -> str:
    """`event:<id>:card:...` -> 'this card', and so on."""
    kind = key.split(":")[2] if key.count(":") >= 2 else ""
    return {"card": "this card", "email": "this email address", "sub": "this account"}.get(
        kind, "this buyer"
    )


def _decline_reason(intent: Any) -> str:
    error = intent.last_payment_error if "last_payment_error" in intent else None
    if error and "message" in error:
        return str(error["message"])
    return f"The payment was not completed ({intent.status})."
