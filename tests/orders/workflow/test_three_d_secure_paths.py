"""3-D Secure on the real PurchaseWorkflow (time-skipping test server, the fakes in
harness.py): completed, abandoned, replaced by a second attempt, and succeeding as the hold ends.
Each test asserts the final status and the activities in order; with
BOXOFFICE_RECORD_HISTORIES=1 each path's history is saved for the replay tier."""

from __future__ import annotations

from boxoffice.orders.messages import (
    PaymentSucceeded,
    PayRequest,
    PayResult,
    ReleaseInput,
    SettleInput,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import (
    FULFILMENT,
    VISA,
    Harness,
)


async def test_three_d_secure(harness: Harness) -> None:
    order_id = harness.new_order_id("three_d_secure")
    harness.fakes.charges = [
        PayResult(status="requires_action", payment_intent_id="pi_3ds", client_secret="cs_3ds")
    ]
    harness.fakes.settles = [PayResult(status="succeeded", payment_intent_id="pi_3ds")]
    _, handle = await harness.create(order_id)

    answer = await handle.execute_update(PurchaseWorkflow.pay, PayRequest("pm_card_3ds"))

    assert (answer.status, answer.client_secret) == ("requires_action", "cs_3ds")
    assert (await harness.progress(handle)).status == "paying"
    await handle.signal(PurchaseWorkflow.payment_succeeded, PaymentSucceeded("pi_3ds"))
    await harness.wait_for_status(handle, "completed")
    assert await harness.finish(handle, "three_d_secure") == "completed"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", "settle_payment", *FULFILMENT]
    assert fakes.args("settle_payment") == [SettleInput(order_id, 1, cancel_if_unpaid=False)]
    assert fakes.count("release_seats") == 0


async def test_three_d_secure_abandoned(harness: Harness) -> None:
    order_id = harness.new_order_id("three_d_secure_abandoned")
    harness.fakes.charges = [
        PayResult(status="requires_action", payment_intent_id="pi_3ds", client_secret="cs_3ds")
    ]
    harness.fakes.settles = [
        PayResult(
            status="declined", payment_intent_id="pi_3ds", decline_reason="Payment cancelled."
        )
    ]
    _, handle = await harness.create(order_id)
    answer = await handle.execute_update(PurchaseWorkflow.pay, PayRequest("pm_card_3ds"))
    assert answer.status == "requires_action"

    assert await harness.finish(handle, "three_d_secure_abandoned") == "expired"

    fakes = harness.fakes
    assert fakes.names() == [
        "reserve_seats",
        "charge_payment",
        "settle_payment",
        "release_seats",
    ]
    assert fakes.args("settle_payment") == [SettleInput(order_id, 1, cancel_if_unpaid=True)]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "expired", None)]


async def test_second_attempt_cancels_open_three_d_secure(harness: Harness) -> None:
    """A new attempt first cancels the PaymentIntent still waiting for 3-D Secure."""
    order_id = harness.new_order_id("second_attempt_after_3ds")
    harness.fakes.charges = [
        PayResult(status="requires_action", payment_intent_id="pi_1", client_secret="cs_1")
    ]
    harness.fakes.settles = [
        PayResult(status="declined", payment_intent_id="pi_1", decline_reason="Cancelled.")
    ]
    _, handle = await harness.create(order_id)
    first = await handle.execute_update(PurchaseWorkflow.pay, PayRequest("pm_card_3ds"))
    assert first.status == "requires_action"

    second = await handle.execute_update(PurchaseWorkflow.pay, PayRequest(VISA))

    assert second.status == "succeeded"
    assert await harness.finish(handle, "second_attempt_after_3ds") == "completed"
    fakes = harness.fakes
    assert fakes.names() == [
        "reserve_seats",
        "charge_payment",
        "settle_payment",
        "charge_payment",
        *FULFILMENT,
    ]
    assert fakes.args("settle_payment") == [SettleInput(order_id, 1, cancel_if_unpaid=True)]
    assert [c.attempt for c in fakes.args("charge_payment")] == [1, 2]


async def test_three_d_secure_done_before_second_attempt(harness: Harness) -> None:
    """The open PaymentIntent turns out to have succeeded: the order is paid, once."""
    order_id = harness.new_order_id("three_d_secure_before_second_attempt")
    harness.fakes.charges = [
        PayResult(status="requires_action", payment_intent_id="pi_1", client_secret="cs_1")
    ]
    harness.fakes.settles = [PayResult(status="succeeded", payment_intent_id="pi_1")]
    _, handle = await harness.create(order_id)
    await handle.execute_update(PurchaseWorkflow.pay, PayRequest("pm_card_3ds"))

    second = await handle.execute_update(PurchaseWorkflow.pay, PayRequest(VISA))

    assert second == PayResult(status="succeeded", payment_intent_id="pi_1")
    assert await harness.finish(handle, "three_d_secure_before_second_attempt") == "completed"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", "settle_payment", *FULFILMENT]
    assert fakes.count("charge_payment") == 1  # no second charge


async def test_three_d_secure_succeeded_at_expiry(harness: Harness) -> None:
    """The hold ends with 3-D Secure open; cancelling finds the payment succeeded: paid."""
    order_id = harness.new_order_id("three_d_secure_paid_at_expiry")
    harness.fakes.charges = [
        PayResult(status="requires_action", payment_intent_id="pi_1", client_secret="cs_1")
    ]
    harness.fakes.settles = [PayResult(status="succeeded", payment_intent_id="pi_1")]
    _, handle = await harness.create(order_id)
    await handle.execute_update(PurchaseWorkflow.pay, PayRequest("pm_card_3ds"))

    assert await harness.finish(handle, "three_d_secure_paid_at_expiry") == "completed"

    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", "settle_payment", *FULFILMENT]
    assert fakes.args("settle_payment") == [SettleInput(order_id, 1, cancel_if_unpaid=True)]
    assert fakes.count("release_seats") == 0
