"""A payment racing something else in the real PurchaseWorkflow on the time-skipping test
server: the hold's end, a buyer's cancel, the order's close timer. Each test asserts the final
status and the activities that ran, in order; with BOXOFFICE_RECORD_HISTORIES=1 each path's
history is saved for the replay tier. The main paths: `test_purchase_paths.py`."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from temporalio.client import WorkflowUpdateStage

from boxoffice.orders.messages import CancelRequest, CancelResult, PayRequest, ReleaseInput
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import FULFILMENT, VISA, Harness, outage


async def test_payment_in_flight_when_hold_ends(harness: Harness) -> None:
    """The hold timer fires while a charge is between retries: the attempt is decided first
    and, having succeeded, the order is paid rather than expired."""
    order_id = harness.new_order_id("payment_in_flight_at_expiry")
    harness.config = replace(
        harness.config,
        hold_seconds=60,
        payment_timeout_seconds=300,
        retry_initial_interval_seconds=120,
        retry_max_interval_seconds=120,
    )
    harness.fakes.charges = [outage("stripe")]
    _, handle = await harness.create(order_id)

    pay = await handle.start_update(
        PurchaseWorkflow.pay, PayRequest(VISA), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    assert await harness.finish(handle, "payment_in_flight_at_expiry") == "completed"

    assert (await pay.result()).status == "succeeded"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", "charge_payment", *FULFILMENT]
    assert fakes.count("release_seats") == 0


async def test_cancel_while_payment_in_flight(harness: Harness) -> None:
    """A cancel waits for the attempt in flight; that one succeeded, so it becomes a refund."""
    order_id = harness.new_order_id("cancel_during_payment")
    harness.fakes.charge_gate = asyncio.Event()
    _, handle = await harness.create(order_id)
    pay = await handle.start_update(
        PurchaseWorkflow.pay, PayRequest(VISA), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    await harness.wait_for_call("charge_payment")
    cancel = await handle.start_update(
        PurchaseWorkflow.cancel,
        CancelRequest(reason="double booked"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )

    harness.fakes.charge_gate.set()

    assert (await pay.result()).status == "succeeded"
    assert await cancel.result() == CancelResult(status="refunded")
    assert await harness.finish(handle, "cancel_during_payment") == "refunded"
    fakes = harness.fakes
    assert fakes.names() == [
        "reserve_seats",
        "charge_payment",
        "void_tickets",
        "refund_payment",
        "release_seats",
    ]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "refunded", None)]


async def test_cancel_lands_with_close_timer(harness: Harness) -> None:
    """A refund accepted in the same workflow task in which the order's close timer fires is
    still carried out, and the run closes (no handler left waiting)."""
    order_id = harness.new_order_id("cancel_at_close")
    worker = harness.own_uncached_queue(f"close-{order_id}")
    fakes = harness.fakes

    async with worker():
        # An uncached worker now and then leaves a workflow task unanswered; a short task
        # timeout has the server hand it out again within a second.
        _, handle = await harness.create(
            order_id, payment_method=VISA, task_timeout=timedelta(seconds=1)
        )
        await harness.wait_for_status(handle, "completed")
    # No worker now: the close timer fires, then the cancel arrives; both wait for one task.
    now = await harness.env.get_current_time()
    close_at = fakes.event_starts_at + timedelta(seconds=harness.config.order_grace_seconds)
    await harness.env.sleep(close_at - now + timedelta(milliseconds=1))
    cancel = asyncio.create_task(
        handle.execute_update(
            PurchaseWorkflow.cancel, CancelRequest(reason="venue closed", actor="support:grace")
        )
    )
    await asyncio.sleep(0.3)
    assert not cancel.done()

    async with worker():
        assert await harness.skipping_time(cancel) == CancelResult(status="refunded")
        assert await harness.finish(handle, "cancel_at_close") == "refunded"

    assert fakes.names()[-3:] == ["void_tickets", "refund_payment", "release_seats"]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "refunded", None)]
