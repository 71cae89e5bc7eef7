"""Refunds and support on the real PurchaseWorkflow (time-skipping test server, the fakes in
harness.py): a buyer's refund inside and after the refund period, support's refund at any time,
a used ticket, and an order that needs attention until support retries or cancels it. Each test
asserts the final status and the activities in order; with BOXOFFICE_RECORD_HISTORIES=1 each
path's history is saved for the replay tier."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from boxoffice.orders.messages import (
    CancelRequest,
    CancelResult,
    OrderRef,
    RefundInput,
    ReleaseInput,
    StatusChange,
    SupportAction,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import (
    FULFILMENT,
    VISA,
    Harness,
    PurchaseHandle,
    refusal,
    search_attribute,
)


async def test_refund_after_payment(harness: Harness) -> None:
    order_id = harness.new_order_id("refunded")
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_status(handle, "completed")

    result = await handle.execute_update(
        PurchaseWorkflow.cancel, CancelRequest(reason="cannot come")
    )

    assert result == CancelResult(status="refunded")
    assert await harness.finish(handle, "refunded") == "refunded"
    fakes = harness.fakes
    assert fakes.names() == [
        "reserve_seats",
        "charge_payment",
        *FULFILMENT,
        "void_tickets",
        "refund_payment",
        "release_seats",
    ]
    assert fakes.args("void_tickets") == [OrderRef(order_id)]
    assert fakes.args("refund_payment") == [RefundInput(order_id, "cannot come")]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "refunded", None)]


async def test_refund_refused_after_deadline(harness: Harness) -> None:
    order_id = harness.new_order_id("refund_after_deadline")
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_status(handle, "completed")
    now = await harness.env.get_current_time()
    await harness.env.sleep(harness.fakes.refund_deadline - now + timedelta(minutes=1))

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.cancel, CancelRequest(reason="too late"))

    assert refusal(refused).type == "RefundPeriodOver"
    assert (await harness.progress(handle)).status == "completed"
    assert await harness.finish(handle, "refund_after_deadline") == "completed"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT]


async def test_support_refund_after_deadline(harness: Harness) -> None:
    """Support may refund at any time; only buyers are bound by the refund period."""
    order_id = harness.new_order_id("support_refund_after_deadline")
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_status(handle, "completed")
    now = await harness.env.get_current_time()
    await harness.env.sleep(harness.fakes.refund_deadline - now + timedelta(minutes=1))

    result = await handle.execute_update(
        PurchaseWorkflow.cancel, CancelRequest(reason="event moved", actor="support:grace")
    )

    assert result == CancelResult(status="refunded")
    assert await harness.finish(handle, "support_refund_after_deadline") == "refunded"
    assert harness.fakes.names()[-3:] == ["void_tickets", "refund_payment", "release_seats"]
    assert harness.fakes.args("release_seats") == [ReleaseInput(order_id, "refunded", None)]


async def test_refund_refused_ticket_used(harness: Harness) -> None:
    """A ticket already used at the gate: the refund is refused and the order stays
    completed, with nothing refunded or released."""
    order_id = harness.new_order_id("refund_ticket_used")
    harness.fakes.checked_in = True
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_status(handle, "completed")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.cancel, CancelRequest(reason="no"))

    assert "checked-in" in refusal(refused).message
    assert (await harness.progress(handle)).status == "completed"
    assert await harness.finish(handle, "refund_ticket_used") == "completed"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT, "void_tickets"]


async def needs_attention(harness: Harness, path: str) -> tuple[str, PurchaseHandle]:
    """An order paid at creation whose PDF step fails for good."""
    order_id = harness.new_order_id(path)
    harness.fakes.failing = {"store_tickets_pdf"}
    _, handle = await harness.create(order_id, payment_method=VISA)
    progress = await harness.wait_for_status(handle, "needs_attention")
    await harness.wait_for_call("record_status")
    assert progress.step == "store_tickets_pdf"
    assert progress.last_error is not None
    assert progress.last_error.startswith("store_tickets_pdf: ")
    assert progress.last_error.endswith("store_tickets_pdf is unavailable")
    fakes = harness.fakes
    assert fakes.names() == [
        "reserve_seats",
        "charge_payment",
        "issue_tickets",
        "store_tickets_pdf",
        "store_tickets_pdf",  # step_max_attempts=2, then it waits for support
        "record_status",
    ]
    assert fakes.args("record_status") == [
        StatusChange(order_id, "needs_attention", progress.last_error)
    ]
    assert await search_attribute(handle, "OrderStatus") == ["needs_attention"]
    assert len(await search_attribute(handle, "NeedsAttentionSince")) == 1
    assert fakes.count("release_seats") == 0  # after payment nothing is given back
    return order_id, handle


async def test_needs_attention_then_support_retry(harness: Harness) -> None:
    order_id, handle = await needs_attention(harness, "needs_attention_retried")

    with pytest.raises(WorkflowUpdateFailedError) as no_reason:
        await handle.execute_update(
            PurchaseWorkflow.support_retry, SupportAction(actor="grace", reason=" ")
        )
    assert refusal(no_reason).type == "InvalidRequest"

    harness.fakes.failing.clear()  # S3 is back
    await handle.execute_update(
        PurchaseWorkflow.support_retry, SupportAction(actor="grace", reason="S3 is back")
    )

    await harness.wait_for_status(handle, "completed")
    with pytest.raises(WorkflowUpdateFailedError) as not_stuck:
        await handle.execute_update(
            PurchaseWorkflow.support_retry, SupportAction(actor="grace", reason="again")
        )
    assert refusal(not_stuck).type == "InvalidState"
    assert await harness.finish(handle, "needs_attention_retried") == "completed"
    fakes = harness.fakes
    assert fakes.names()[-3:] == ["record_status", "store_tickets_pdf", "email_tickets"]
    assert fakes.count("issue_tickets") == 1  # the retry resumes at the failed step
    assert fakes.count("release_seats") == 0
    assert fakes.count("refund_payment") == 0
    assert fakes.args("email_tickets") == [OrderRef(order_id)]


async def test_needs_attention_then_cancel(harness: Harness) -> None:
    order_id, handle = await needs_attention(harness, "needs_attention_cancelled")

    result = await handle.execute_update(
        PurchaseWorkflow.cancel, CancelRequest(reason="no tickets came")
    )

    assert result == CancelResult(status="refunded")
    assert await harness.finish(handle, "needs_attention_cancelled") == "refunded"
    fakes = harness.fakes
    assert fakes.names()[-4:] == [
        "record_status",
        "void_tickets",
        "refund_payment",
        "release_seats",
    ]
    assert fakes.count("store_tickets_pdf") == 2  # not tried again
    assert fakes.count("email_tickets") == 0
    assert fakes.args("refund_payment") == [RefundInput(order_id, "no tickets came")]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "refunded", None)]


async def test_needs_attention_cancel_refused(harness: Harness) -> None:
    """A refused cancel (a ticket already used) leaves the order waiting for support: the
    failed step is not re-run behind support's back, and its time of failure stands."""
    order_id, handle = await needs_attention(harness, "needs_attention_cancel_refused")
    since = await search_attribute(handle, "NeedsAttentionSince")
    harness.fakes.checked_in = True

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.cancel, CancelRequest(reason="refund me"))

    assert "checked-in" in refusal(refused).message
    progress = await harness.progress(handle)
    assert (progress.status, progress.step) == ("needs_attention", "store_tickets_pdf")
    assert await search_attribute(handle, "NeedsAttentionSince") == since
    harness.fakes.failing.clear()
    await handle.execute_update(
        PurchaseWorkflow.support_retry, SupportAction(actor="grace", reason="S3 is back")
    )
    assert await harness.finish(handle, "needs_attention_cancel_refused") == "completed"
    fakes = harness.fakes
    assert fakes.names()[-5:] == [
        "store_tickets_pdf",
        "record_status",
        "void_tickets",
        "store_tickets_pdf",
        "email_tickets",
    ]
    assert fakes.count("store_tickets_pdf") == 3  # two failed tries, then support's retry
    assert fakes.count("record_status") == 1
    assert fakes.count("refund_payment") == 0
    assert fakes.count("release_seats") == 0
    assert fakes.args("email_tickets") == [OrderRef(order_id)]


async def test_support_retry_refused_while_cancel_under_way(harness: Harness) -> None:
    """Support's retry arriving while a buyer's cancel is refunding a stuck order is refused;
    the refund completes and the run closes (no retry left waiting for ever)."""
    order_id, handle = await needs_attention(harness, "needs_attention_retry_during_refund")
    harness.fakes.release_gate = asyncio.Event()
    cancel = await handle.start_update(
        PurchaseWorkflow.cancel,
        CancelRequest(reason="no tickets came"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    await harness.wait_for_call("release_seats")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            PurchaseWorkflow.support_retry, SupportAction(actor="grace", reason="S3 is back")
        )

    assert refusal(refused).type == "InvalidState"
    harness.fakes.release_gate.set()
    assert await cancel.result() == CancelResult(status="refunded")
    assert await harness.finish(handle, "needs_attention_retry_during_refund") == "refunded"
    fakes = harness.fakes
    assert fakes.names()[-4:] == [
        "record_status",
        "void_tickets",
        "refund_payment",
        "release_seats",
    ]
    assert fakes.count("store_tickets_pdf") == 2
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "refunded", None)]
