"""Payments an order does not keep go back, on the real stack.

localstripe sends `payment_intent.succeeded` for every PaymentIntent confirmed with a registered
webhook, so a payment made outside the order's own flow (here: one the test confirms itself,
standing in for an attempt that succeeded after it was given up) reaches the API exactly as
Stripe would deliver it. While the order's run is open it refunds the money itself; once the run
has closed the webhook starts RefundLatePayment. Either way the money goes back once, and the
order's own payment is untouched."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import stripe
from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from boxoffice.core.database.models import PaymentAttempt, StrayRefund
from boxoffice.orders.activities.payments import make_stripe_client
from boxoffice.orders.activities.refunds import RefundActivities
from boxoffice.orders.messages import StrayPayment
from boxoffice.orders.workflow.late_payment import late_payment_workflow_id
from tests.conftest import Stack
from tests.purchases import create_event, order_body, wait_for_status

PRICE = 4500


async def pay_beside_the_order(client: stripe.StripeClient, order_id: str) -> str:
    """A PaymentIntent for the order that its run did not make, confirmed: money taken."""
    intent = await client.v1.payment_intents.create_async(
        params={
            "amount": PRICE,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "metadata": {"order_id": order_id, "attempt": "99"},
        }
    )
    confirmed = await client.v1.payment_intents.confirm_async(intent.id)
    assert confirmed.status == "succeeded"
    return str(intent.id)


async def refunds_of(client: stripe.StripeClient, payment_intent_id: str) -> list[str]:
    listed = await client.v1.refunds.list_async(params={"payment_intent": payment_intent_id})
    return [str(refund.id) for refund in listed.data]


async def wait_for_stray_refund(
    stack: Stack, payment_intent_id: str, within: float = 60
) -> StrayRefund:
    """The refund's record once committed, which is after Stripe made the refund."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with stack.sessions() as session:
            found = await session.get(StrayRefund, payment_intent_id)
        if found is not None and found.status == "succeeded":
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"{payment_intent_id} was never refunded")


async def kept_intent(stack: Stack, order_id: str) -> str:
    async with stack.sessions() as session:
        found = await session.scalar(
            select(PaymentAttempt.payment_intent_id).where(
                PaymentAttempt.order_id == order_id, PaymentAttempt.status == "succeeded"
            )
        )
    assert found is not None
    return found


async def test_payment_after_the_order_closed_is_refunded_by_refund_late_payment(
    stack: Stack,
) -> None:
    client = make_stripe_client(stack.settings)
    async with stack.http() as http:
        event = await create_event(http)
        order = (await http.post("/orders", json=order_body(event))).json()
        cancelled = await http.post(f"/orders/{order['id']}/cancel", json={"reason": "changed"})
        assert cancelled.json()["status"] == "cancelled", cancelled.text
        # The run ends with the cancel: nothing of this order is open any more.
        assert await stack.temporal.get_workflow_handle(order["id"]).result() == "cancelled"

        late = await pay_beside_the_order(client, order["id"])

        recorded = await wait_for_stray_refund(stack, late)
        late_run = stack.temporal.get_workflow_handle(late_payment_workflow_id(late))
        assert await late_run.result() == "refunded"
        assert (await wait_for_status(http, order["id"], "cancelled"))["status"] == "cancelled"
    assert await refunds_of(client, late) == [recorded.stripe_refund_id]
    assert (recorded.order_id, recorded.status, recorded.amount, recorded.currency) == (
        order["id"],
        "succeeded",
        PRICE,
        "EUR",
    )


async def test_second_payment_of_a_completed_order_is_refunded_by_its_run(stack: Stack) -> None:
    client = make_stripe_client(stack.settings)
    async with stack.http() as http:
        event = await create_event(http)
        created = await http.post("/orders", json=order_body(event, 1, "pm_card_visa"))
        order = created.json()
        await wait_for_status(http, order["id"], "completed")
        kept = await kept_intent(stack, order["id"])

        twice = await pay_beside_the_order(client, order["id"])

        recorded = await wait_for_stray_refund(stack, twice)
        assert (await http.get(f"/orders/{order['id']}")).json()["status"] == "completed"
        # Support sees what was given back, and why the buyer's statement shows two charges.
        detail = (await http.get(f"/admin/orders/{order['id']}")).json()
        assert [r["payment_intent_id"] for r in detail["stray_refunds"]] == [twice]
        assert detail["refunds"] == []
    assert await refunds_of(client, twice) == [recorded.stripe_refund_id]
    assert await refunds_of(client, kept) == []  # the payment the order keeps
    # The open run did it, not RefundLatePayment.
    with pytest.raises(RPCError) as missing:
        await stack.temporal.get_workflow_handle(late_payment_workflow_id(twice)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def test_refund_stray_payment_refunds_once_and_only_strays(stack: Stack) -> None:
    client = make_stripe_client(stack.settings)
    activities = RefundActivities(stack.sessions, client)
    run = ActivityEnvironment().run
    async with stack.http() as http:
        event = await create_event(http)
        created = await http.post("/orders", json=order_body(event, 1, "pm_card_visa"))
        order_id = created.json()["id"]
        await wait_for_status(http, order_id, "completed")
    kept = await kept_intent(stack, order_id)

    assert (await run(activities.refund_stray_payment, StrayPayment(order_id, kept))).outcome == (
        "kept"
    )
    assert await refunds_of(client, kept) == []

    stray = await pay_beside_the_order(client, order_id)
    # The order's run is refunding it too (the webhook): the row lock lets one refund through.
    first, second = await asyncio.gather(
        run(activities.refund_stray_payment, StrayPayment(order_id, stray)),
        run(activities.refund_stray_payment, StrayPayment(order_id, stray)),
    )
    assert first.outcome == second.outcome == "refunded"
    assert first.refund_id == second.refund_id
    assert first.amount == PRICE
    await asyncio.sleep(1)  # room for the run's own call to land, were it to refund again
    assert await refunds_of(client, stray) == [first.refund_id]

    # Not confirmed: no money was taken, nothing to give back.
    unconfirmed = await client.v1.payment_intents.create_async(
        params={"amount": PRICE, "currency": "eur", "metadata": {"order_id": order_id}}
    )
    unpaid = await run(activities.refund_stray_payment, StrayPayment(order_id, unconfirmed.id))
    assert unpaid.outcome == "unpaid"

    # A PaymentIntent that names another order, or none of ours, is not ours to refund.
    elsewhere = f"ord_{uuid.uuid4().hex}"
    foreign = await pay_beside_the_order(client, elsewhere)
    for claimed in (order_id, elsewhere):
        result = await run(activities.refund_stray_payment, StrayPayment(claimed, foreign))
        assert result.outcome == "unknown_order"
    assert await refunds_of(client, foreign) == []
