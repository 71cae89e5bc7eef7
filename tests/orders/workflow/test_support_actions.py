"""Support's updates on the real PurchaseWorkflow: support_cancel, refund, resend, and the reason
every support update needs (extend_hold: `test_hold_extensions.py`).

Each test asserts the update's answer (or refusal), the order's outcome and what the workflow
asked of the outside world. With BOXOFFICE_RECORD_HISTORIES=1 each path's history is saved for
the replay tier."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError

from boxoffice.orders.messages import (
    CancelRequest,
    CancelResult,
    EmailSent,
    OrderRef,
    PayRequest,
    RefundInput,
    ReleaseInput,
    ResendInput,
    ResendRequest,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import (
    BUYER,
    FULFILMENT,
    VISA,
    Harness,
    refusal,
)
from .support_steps import SUPPORT, action, completed_order, extend, sleep_until

REFUNDED_TAIL = ["void_tickets", "refund_payment", "release_seats"]


# --- every support update needs a reason ---------------------------------------------------------


async def test_support_updates_need_a_reason(harness: Harness) -> None:
    """A blank reason is refused (InvalidRequest) even where the state allows the update."""
    order_id = harness.new_order_id("support_updates_without_reason")
    _, handle = await harness.create(order_id)

    for blank in ("", "   "):
        with pytest.raises(WorkflowUpdateFailedError) as cancel:
            await handle.execute_update(PurchaseWorkflow.support_cancel, action(blank))
        assert refusal(cancel).type == "InvalidRequest"
        with pytest.raises(WorkflowUpdateFailedError) as extension:
            await handle.execute_update(PurchaseWorkflow.extend_hold, extend(10, reason=blank))
        assert refusal(extension).type == "InvalidRequest"
    assert (await harness.progress(handle)).status == "reserved"

    await handle.execute_update(PurchaseWorkflow.pay, PayRequest(VISA))
    await harness.wait_for_status(handle, "completed")
    for blank in ("", "\t "):
        with pytest.raises(WorkflowUpdateFailedError) as refund:
            await handle.execute_update(PurchaseWorkflow.refund, action(blank))
        assert refusal(refund).type == "InvalidRequest"
        with pytest.raises(WorkflowUpdateFailedError) as resend:
            await handle.execute_update(
                PurchaseWorkflow.resend, ResendRequest(SUPPORT, reason=blank)
            )
        assert refusal(resend).type == "InvalidRequest"

    assert (await harness.progress(handle)).status == "completed"
    assert await harness.finish(handle, "support_updates_without_reason") == "completed"
    assert harness.fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT]


# --- support_cancel ------------------------------------------------------------------------------


async def test_support_cancel_after_refund_deadline(harness: Harness) -> None:
    """The buyer's refund period is over; support's cancel still refunds."""
    order_id, handle = await completed_order(harness, "support_cancelled_after_deadline")
    await sleep_until(harness, harness.fakes.refund_deadline + timedelta(minutes=1))
    with pytest.raises(WorkflowUpdateFailedError) as buyer:
        await handle.execute_update(PurchaseWorkflow.cancel, CancelRequest(reason="too late"))
    assert refusal(buyer).type == "RefundPeriodOver"

    result = await handle.execute_update(
        PurchaseWorkflow.support_cancel, action("event moved to a weekday")
    )

    assert result == CancelResult(status="refunded")
    assert await harness.finish(handle, "support_cancelled_after_deadline") == "refunded"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT, *REFUNDED_TAIL]
    assert fakes.args("void_tickets") == [OrderRef(order_id)]
    assert fakes.args("refund_payment") == [RefundInput(order_id, "event moved to a weekday")]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "refunded", None)]


async def test_support_cancel_in_hold(harness: Harness) -> None:
    order_id = harness.new_order_id("support_cancelled_in_hold")
    _, handle = await harness.create(order_id)

    result = await handle.execute_update(PurchaseWorkflow.support_cancel, action("fraud check"))

    assert result == CancelResult(status="cancelled")
    assert await harness.finish(handle, "support_cancelled_in_hold") == "cancelled"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "release_seats"]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "cancelled", None)]


async def test_concurrent_support_cancels(harness: Harness) -> None:
    """A second support_cancel arriving while the first is refunding joins it: both answer
    refunded, and the payment is refunded once."""
    order_id, handle = await completed_order(harness, "concurrent_support_cancel")
    harness.fakes.refund_gate = asyncio.Event()
    first = await handle.start_update(
        PurchaseWorkflow.support_cancel,
        action("duplicate order"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    await harness.wait_for_call("refund_payment")
    second = await handle.start_update(
        PurchaseWorkflow.support_cancel,
        action("buyer called again"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )

    harness.fakes.refund_gate.set()

    assert await first.result() == CancelResult(status="refunded")
    assert await second.result() == CancelResult(status="refunded")
    assert await harness.finish(handle, "concurrent_support_cancel") == "refunded"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT, *REFUNDED_TAIL]
    assert fakes.args("refund_payment") == [RefundInput(order_id, "duplicate order")]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "refunded", None)]


# --- refund --------------------------------------------------------------------------------------


async def test_support_refund(harness: Harness) -> None:
    order_id, handle = await completed_order(harness, "support_refund")

    result = await handle.execute_update(PurchaseWorkflow.refund, action("charged twice"))

    assert result == CancelResult(status="refunded")
    assert await harness.finish(handle, "support_refund") == "refunded"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT, *REFUNDED_TAIL]
    assert fakes.args("void_tickets") == [OrderRef(order_id)]
    assert fakes.args("refund_payment") == [RefundInput(order_id, "charged twice")]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "refunded", None)]


async def test_refund_refused_while_reserved(harness: Harness) -> None:
    order_id = harness.new_order_id("refund_refused_while_reserved")
    _, handle = await harness.create(order_id)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.refund, action("charged twice"))

    assert refusal(refused).type == "InvalidState"
    assert (await harness.progress(handle)).status == "reserved"
    assert await harness.finish(handle, "refund_refused_while_reserved") == "expired"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "release_seats"]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "expired", None)]


async def test_refund_refused_after_event_start(harness: Harness) -> None:
    order_id, handle = await completed_order(harness, "refund_refused_after_event_start")
    await sleep_until(harness, harness.fakes.event_starts_at + timedelta(seconds=1))

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.refund, action("missed the show"))

    assert refusal(refused).type == "InvalidState"
    assert "already started" in refusal(refused).message
    assert (await harness.progress(handle)).status == "completed"
    assert await harness.finish(handle, "refund_refused_after_event_start") == "completed"
    assert harness.fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT]
    assert harness.fakes.args("email_tickets") == [OrderRef(order_id)]


# --- resend --------------------------------------------------------------------------------------


async def test_resend_twice(harness: Harness) -> None:
    order_id, handle = await completed_order(harness, "resent")
    other = "ada.work@example.com"

    first = await handle.execute_update(
        PurchaseWorkflow.resend, ResendRequest(SUPPORT, reason="not received")
    )
    second = await handle.execute_update(
        PurchaseWorkflow.resend, ResendRequest(SUPPORT, reason="to her work address", to=other)
    )

    assert first == EmailSent(f"<tickets.{order_id}.resend1@boxoffice>", BUYER.email)
    assert second == EmailSent(f"<tickets.{order_id}.resend2@boxoffice>", other)
    assert first.message_id != second.message_id
    assert (await harness.progress(handle)).status == "completed"
    assert await harness.finish(handle, "resent") == "completed"
    fakes = harness.fakes
    assert fakes.names() == [
        "reserve_seats",
        "charge_payment",
        *FULFILMENT,
        "resend_tickets_email",
        "resend_tickets_email",
    ]
    assert fakes.args("resend_tickets_email") == [
        ResendInput(order_id, 1, None),
        ResendInput(order_id, 2, other),
    ]


async def test_resend_refused_before_completion(harness: Harness) -> None:
    order_id = harness.new_order_id("resend_refused_while_reserved")
    _, handle = await harness.create(order_id)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            PurchaseWorkflow.resend, ResendRequest(SUPPORT, reason="not received")
        )

    assert refusal(refused).type == "InvalidState"
    assert (await harness.progress(handle)).status == "reserved"
    assert await harness.finish(handle, "resend_refused_while_reserved") == "expired"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "release_seats"]
    assert fakes.count("resend_tickets_email") == 0


async def test_a_refund_stripe_refuses_waits_for_support(harness: Harness) -> None:
    """Stripe will not refund (a disputed charge, say): the order does not retry for ever; it
    needs attention, its tickets stay void, and support's cancel tries the refund again."""
    order_id, handle = await completed_order(harness, "refund_refused_by_stripe")
    harness.fakes.refund_error = ApplicationError(
        "Stripe refused the refund: charge disputed", type="RefundRefused", non_retryable=True
    )

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.support_cancel, action("event cancelled"))

    assert "Stripe refused the refund" in refusal(refused).message
    progress = await harness.wait_for_status(handle, "needs_attention")
    assert progress.last_error == "refund_payment: Stripe refused the refund: charge disputed"
    with pytest.raises(WorkflowUpdateFailedError) as no_retry:
        await handle.execute_update(PurchaseWorkflow.support_retry, action("try again"))
    assert "cancel (or refund) the order again" in refusal(no_retry).message
    harness.fakes.refund_error = None
    result = await handle.execute_update(PurchaseWorkflow.support_cancel, action("dispute settled"))
    assert result == CancelResult(status="refunded")
    assert await harness.finish(handle, "refund_refused_by_stripe") == "refunded"
    fakes = harness.fakes
    assert fakes.names() == [
        "reserve_seats",
        "charge_payment",
        *FULFILMENT,
        "void_tickets",
        "refund_payment",
        "record_status",
        *REFUNDED_TAIL,
    ]
    assert fakes.args("record_status")[0].status == "needs_attention"
    assert fakes.args("void_tickets") == [OrderRef(order_id)] * 2
