"""Stripe webhooks: a payment that succeeded reaches its order's workflow, or, when that run has
closed, a `RefundLatePayment` workflow that gives the money back."""

from __future__ import annotations

import json
import logging

import stripe
from fastapi import APIRouter, Header, HTTPException, Request
from sqlalchemy.dialects.postgresql import insert
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.core.database.models import StripeEvent
from boxoffice.core.http.deps import SessionsDep, SettingsDep, TemporalDep
from boxoffice.core.settings import Settings
from boxoffice.orders.creation import pipeline_config
from boxoffice.orders.messages import LatePayment, PaymentSucceeded
from boxoffice.orders.schemas import ErrorBody
from boxoffice.orders.workflow.late_payment import RefundLatePayment, late_payment_workflow_id
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

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
    temporal: TemporalDep,
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
        await _tell_order(temporal, settings, order_id, str(intent["id"]))
    return {"received": True}


async def _tell_order(
    temporal: Client, settings: Settings, order_id: str, payment_intent_id: str
) -> None:
    handle = temporal.get_workflow_handle(order_id, result_type=str)
    try:
        await handle.signal(PurchaseWorkflow.payment_succeeded, PaymentSucceeded(payment_intent_id))
        return
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise HTTPException(503, "Could not reach the order; Stripe will retry.") from None
    # The order's run has closed (or never was): nobody will ship tickets for this money.
    log.warning(
        "payment %s succeeded for closed order %s: refunding it", payment_intent_id, order_id
    )
    try:
        await temporal.start_workflow(
            RefundLatePayment.run,
            LatePayment(order_id, payment_intent_id, pipeline_config(settings)),
            id=late_payment_workflow_id(payment_intent_id),
            task_queue=settings.task_queue_purchases,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass  # Stripe told us twice (another event id): the first one is being handled.
    except RPCError:
        raise HTTPException(503, "Could not start the refund; Stripe will retry.") from None
