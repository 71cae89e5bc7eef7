"""Money an order does not keep goes back: a PaymentIntent Stripe reports as succeeded that is
not the order's payment (an earlier attempt that succeeded after it was given up, or a payment
after the hold ended) is refunded with `refund_stray_payment`, by the order's own run while it
is open and by `RefundLatePayment` once it has closed. The order's own payment never is."""

from __future__ import annotations

import uuid

from boxoffice.orders.messages import (
    LatePayment,
    PaymentSucceeded,
    PayRequest,
    PayResult,
    ReleaseInput,
    SupportAction,
)
from boxoffice.orders.workflow.late_payment import RefundLatePayment, late_payment_workflow_id
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import FULFILMENT, VISA, Harness, save_history
from .test_refund_paths import needs_attention

STRAY = PaymentSucceeded("pi_stray")


async def test_stray_payment_of_a_completed_order_is_refunded(harness: Harness) -> None:
    order_id = harness.new_order_id("stray_payment_refunded")
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_status(handle, "completed")

    # Stripe reports the order's own payment (pi_1, as every confirm is) and one it did not keep.
    await handle.signal(PurchaseWorkflow.payment_succeeded, PaymentSucceeded("pi_1"))
    await handle.signal(PurchaseWorkflow.payment_succeeded, STRAY)
    await handle.signal(PurchaseWorkflow.payment_succeeded, STRAY)  # redelivered
    await harness.wait_for_call("refund_stray_payment")

    assert await harness.finish(handle, "stray_payment_refunded") == "completed"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT, "refund_stray_payment"]
    assert [a.payment_intent_id for a in fakes.args("refund_stray_payment")] == ["pi_stray"]
    assert fakes.args("refund_stray_payment")[0].order_id == order_id
    assert fakes.count("refund_payment") == 0


async def test_earlier_attempt_succeeding_after_the_order_paid_again(harness: Harness) -> None:
    """Attempt 1 was given up (settled as not paid), the buyer paid with attempt 2, then
    attempt 1's PaymentIntent succeeded after all: the buyer paid twice, once is refunded."""
    order_id = harness.new_order_id("earlier_attempt_succeeded_late")
    harness.fakes.charges = [
        PayResult(status="requires_action", payment_intent_id="pi_1", client_secret="cs_1")
    ]
    harness.fakes.settles = [
        PayResult(status="declined", payment_intent_id="pi_1", decline_reason="Processing.")
    ]
    _, handle = await harness.create(order_id)
    assert (await handle.execute_update(PurchaseWorkflow.pay, PayRequest("pm_3ds"))).status == (
        "requires_action"
    )
    second = await handle.execute_update(PurchaseWorkflow.pay, PayRequest(VISA))
    assert (second.status, second.payment_intent_id) == ("succeeded", "pi_2")
    await harness.wait_for_status(handle, "completed")

    await handle.signal(PurchaseWorkflow.payment_succeeded, PaymentSucceeded("pi_2"))
    await handle.signal(PurchaseWorkflow.payment_succeeded, PaymentSucceeded("pi_1"))
    await harness.wait_for_call("refund_stray_payment")

    assert await harness.finish(handle, "earlier_attempt_succeeded_late") == "completed"
    fakes = harness.fakes
    assert [a.payment_intent_id for a in fakes.args("refund_stray_payment")] == ["pi_1"]
    assert fakes.count("refund_payment") == 0


async def test_payment_news_for_an_order_that_expires_is_refunded_at_its_end(
    harness: Harness,
) -> None:
    """News of a PaymentIntent that is not the order's open attempt does not pay the order;
    the hold runs out, the seats go back, and that money is refunded before the run closes."""
    order_id = harness.new_order_id("stray_payment_after_expiry")
    _, handle = await harness.create(order_id)
    await handle.signal(PurchaseWorkflow.payment_succeeded, STRAY)

    assert await harness.finish(handle, "stray_payment_after_expiry") == "expired"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "release_seats", "refund_stray_payment"]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "expired", None)]
    assert [a.payment_intent_id for a in fakes.args("refund_stray_payment")] == ["pi_stray"]


async def test_stray_payment_refunded_while_the_order_waits_for_support(
    harness: Harness,
) -> None:
    order_id, handle = await needs_attention(harness, "stray_payment_in_needs_attention")

    await handle.signal(PurchaseWorkflow.payment_succeeded, STRAY)
    await harness.wait_for_call("refund_stray_payment")
    assert (await harness.progress(handle)).status == "needs_attention"

    harness.fakes.failing.clear()
    await handle.execute_update(
        PurchaseWorkflow.support_retry, SupportAction(actor="grace", reason="S3 is back")
    )
    assert await harness.finish(handle, "stray_payment_in_needs_attention") == "completed"
    fakes = harness.fakes
    assert fakes.names()[-4:] == [
        "record_status",
        "refund_stray_payment",
        "store_tickets_pdf",
        "email_tickets",
    ]
    assert [(a.order_id, a.payment_intent_id) for a in fakes.args("refund_stray_payment")] == [
        (order_id, "pi_stray")
    ]


async def test_refund_late_payment_workflow(harness: Harness) -> None:
    """The webhook starts it when the order's run has closed; it refunds through the same
    activity, which decides from Stripe and the order's records."""
    order_id = f"ord_{uuid.uuid4().hex}"
    handle = await harness.client.start_workflow(
        RefundLatePayment.run,
        LatePayment(order_id, "pi_late", harness.config),
        id=late_payment_workflow_id("pi_late") + f"-{uuid.uuid4().hex[:8]}",
        task_queue=harness.task_queue,
    )

    assert await handle.result() == "refunded"
    await save_history(handle, "late_payment_refunded")
    assert [
        (a.order_id, a.payment_intent_id) for a in harness.fakes.args("refund_stray_payment")
    ] == [(order_id, "pi_late")]
