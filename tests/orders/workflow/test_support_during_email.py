"""Support's updates asked while the tickets' email goes out: the email step writes
`completed` to the order's row a moment before the run hears so, and support, seeing a
completed order, may resend or refund in that moment. The update is accepted and waits for the
step (refused with the order's state if the step fails for good), never refused for being
"paid". With BOXOFFICE_RECORD_HISTORIES=1 each path's history is saved for the replay tier."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from boxoffice.orders.messages import CancelResult, EmailSent, RefundInput, ResendRequest
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import BUYER, FULFILMENT, VISA, Harness, refusal
from .support_steps import SUPPORT, action


async def test_resend_asked_while_the_first_email_goes_out(harness: Harness) -> None:
    """The email step writes `completed` to the order's row a moment before the run hears so;
    a resend asked in that moment (support sees a completed order) is accepted, and sent
    after the first message, not refused."""
    order_id = harness.new_order_id("resent_while_emailing")
    harness.fakes.email_gate = asyncio.Event()
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_call("email_tickets")
    assert (await harness.progress(handle)).status == "paid"

    resend = await handle.start_update(
        PurchaseWorkflow.resend,
        ResendRequest(SUPPORT, reason="not received"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    assert harness.fakes.count("resend_tickets_email") == 0
    harness.fakes.email_gate.set()

    assert await resend.result() == EmailSent(
        f"<tickets.{order_id}.resend1@boxoffice>", BUYER.email
    )
    assert await harness.finish(handle, "resent_while_emailing") == "completed"
    assert harness.fakes.names() == [
        "reserve_seats",
        "charge_payment",
        *FULFILMENT,
        "resend_tickets_email",
    ]


async def test_resend_waiting_on_an_email_step_that_fails(harness: Harness) -> None:
    """The first email never goes out (the order needs attention): the waiting resend is
    refused with the order's state, and nothing is sent."""
    order_id = harness.new_order_id("resend_waited_on_failing_email")
    harness.fakes.email_gate = asyncio.Event()
    harness.fakes.failing.add("email_tickets")
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_call("email_tickets")

    resend = await handle.start_update(
        PurchaseWorkflow.resend,
        ResendRequest(SUPPORT, reason="not received"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    harness.fakes.email_gate.set()

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await harness.skipping_time(resend.result())
    assert refusal(refused).type == "InvalidState"
    assert "this one is needs_attention" in refusal(refused).message
    assert harness.fakes.count("resend_tickets_email") == 0
    cancelled = await handle.execute_update(PurchaseWorkflow.support_cancel, action("give up"))
    assert cancelled == CancelResult(status="refunded")
    assert await harness.finish(handle, "resend_waited_on_failing_email") == "refunded"


async def test_refund_asked_while_the_first_email_goes_out(harness: Harness) -> None:
    order_id = harness.new_order_id("refunded_while_emailing")
    harness.fakes.email_gate = asyncio.Event()
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_call("email_tickets")

    refund = await handle.start_update(
        PurchaseWorkflow.refund,
        action("charged twice"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    assert harness.fakes.count("refund_payment") == 0
    harness.fakes.email_gate.set()

    assert await refund.result() == CancelResult(status="refunded")
    assert await harness.finish(handle, "refunded_while_emailing") == "refunded"
    assert harness.fakes.names() == [
        "reserve_seats",
        "charge_payment",
        *FULFILMENT,
        "void_tickets",
        "refund_payment",
        "release_seats",
    ]
    assert harness.fakes.args("refund_payment") == [RefundInput(order_id, "charged twice")]


async def test_refund_refused_while_an_earlier_step_runs(harness: Harness) -> None:
    """Only the email step has this grace: before it the order is plainly not completed (and
    support_cancel is the update that refunds it)."""
    order_id = harness.new_order_id("refund_refused_while_paying")
    harness.fakes.charge_gate = asyncio.Event()
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_call("charge_payment")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.refund, action("charged twice"))

    assert refusal(refused).type == "InvalidState"
    assert "this one is paying" in refusal(refused).message
    harness.fakes.charge_gate.set()
    assert await harness.finish(handle, "refund_refused_while_paying") == "completed"
    assert harness.fakes.count("refund_payment") == 0
