"""Stripe webhooks: a payment that succeeded reaches its order's workflow, or, when that run has
closed, a `RefundLatePayment` workflow that gives the money back."""

from __future__ import annotations

import json
import logging

import stripe
from fastapi import APIRouter, Header, HTTPException, Request
from sqlalchemy.dialects.postgresql import insert

from boxoffice.core.database.models import StripeEvent
from boxoffice.core.http.deps import SessionsDep, SettingsDep
from boxoffice.core.http.fields import ErrorBody
from boxoffice.orders.client import OrderClient
from boxoffice.orders.domain import OrderError

router = APIRouter(tags=["webhooks"])
log = logging.getLogger("boxoffice.webhooks")


@router.post(
    "/webhooks/stripe",
    responses={
        400: {"model": ErrorBody, "description": "Bad signature or payload"},
        413: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
async def stripe_webhook(
    request: Request,
    settings: SettingsDep,
    sessions: SessionsDep,
    stripe_signature: str = Header(alias="Stripe-Signature", max_length=2000),
) -> dict[str, bool]:
    """Signature-checked against the endpoint secret within the timestamp tolerance; each event
    id is acted on once. The workflow reads the PaymentIntent itself and trusts nothing else
    of the event."""
    if settings.stripe_webhook_secret is None:
        raise HTTPException(503, "Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
    payload = await request.body()
    try:
        event = stripe.Webhook.construct_event(
            payload,
            stripe_signature,
            settings.stripe_webhook_secret.get_secret_value(),
            tolerance=settings.stripe_webhook_tolerance_seconds,
        )
    except (ValueError, stripe.SignatureVerificationError):
        raise HTTPException(400, "Invalid Stripe signature or payload.") from None
    if event.type != "payment_intent.succeeded":
        return {"received": True}
    # The signature is verified: read the plain JSON rather than the SDK's object wrappers.
    intent = json.loads(payload)["data"]["object"]
    order_id = (intent.get("metadata") or {}).get("order_id")
    if not isinstance(order_id, str) or not order_id:
        return {"received": True}
    # Recorded in the same transaction as the signal is sent: a redelivery waits for the first
    # delivery and then does nothing; a delivery whose signal failed is rolled back, so Stripe's
    # retry of it is acted on.
    async with sessions() as session, session.begin():
        fresh = await session.scalar(
            insert(StripeEvent)
            .values(id=str(event.id)[:100], type=event.type)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(StripeEvent.id)
        )
        if fresh is None:
            return {"received": True, "duplicate": True}
        await _tell_order(request.app.state.order_client, order_id, str(intent["id"]))
    return {"received": True}


async def _tell_order(client: OrderClient, order_id: str, payment_intent_id: str) -> None:
    try:
        if await client.payment_news(order_id, payment_intent_id):
            return
        # The order's run has closed (or never was): nobody will ship tickets for this money.
        log.warning(
            "payment %s succeeded for closed order %s: refunding it", payment_intent_id, order_id
        )
        await client.refund_late_payment(order_id, payment_intent_id)
    except OrderError:
        raise HTTPException(503, "Could not reach the order; Stripe will retry.") from None
