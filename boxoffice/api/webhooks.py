"""Stripe webhooks: a 3-D Secure payment that succeeded reaches its order's workflow."""

from __future__ import annotations

import json
import logging

import stripe
from fastapi import APIRouter, Header, HTTPException, Request
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.api.deps import SettingsDep, TemporalDep
from boxoffice.payloads import PaymentSucceeded
from boxoffice.workflows.purchase import PurchaseWorkflow

router = APIRouter(tags=["webhooks"])
log = logging.getLogger("boxoffice.webhooks")


@router.post("/webhooks/stripe", responses={400: {"description": "Bad signature or payload"}})
async def stripe_webhook(
    request: Request,
    settings: SettingsDep,
    temporal: TemporalDep,
    stripe_signature: str = Header(alias="Stripe-Signature"),
) -> dict[str, bool]:
    """Signature-checked; the workflow reads the PaymentIntent itself, so a replayed or
    repeated event changes nothing twice."""
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
    handle = temporal.get_workflow_handle_for(PurchaseWorkflow.run, order_id)
    try:
        await handle.signal(PurchaseWorkflow.payment_succeeded, PaymentSucceeded(intent["id"]))
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise HTTPException(503, "Could not reach the order; Stripe will retry.") from None
        # The order's run has closed; its hold was cancelled at Stripe before it closed.
        log.warning("payment_intent.succeeded for closed order %s", order_id)
    return {"received": True}
