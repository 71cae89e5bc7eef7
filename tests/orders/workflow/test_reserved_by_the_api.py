"""An order whose seats the API takes itself (`orders/creation.py`): the API starts the run
without waiting for it and answers "held" at once, so the buyer's pay or cancel may reach the
run while its own reservation (which adopts the API's) is still under way. The run accepts them
and acts once its reservation is decided."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from boxoffice.orders.messages import CancelRequest, PayRequest, ReleaseInput
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import FULFILMENT, VISA, Harness, PurchaseHandle, refusal


async def _started_while_reserving(harness: Harness, path: str) -> PurchaseHandle:
    """Started as the API starts it (no update waited for); its reservation held up."""
    harness.fakes.reserve_gate = asyncio.Event()
    order = harness.order(harness.new_order_id(path))
    handle = await harness.client.start_workflow(
        PurchaseWorkflow.run,
        order,
        id=order.order_id,
        task_queue=harness.task_queue,
        # Short, so the worker heartbeats its task during the reservation (a local activity)
        # and the update below is delivered while it is still under way.
        task_timeout=timedelta(seconds=2),
    )
    harness.handles.append(handle)
    await harness.wait_for_call("reserve_seats")
    return handle


async def test_pay_while_the_reservation_is_under_way(harness: Harness) -> None:
    handle = await _started_while_reserving(harness, "paid_while_reserving")
    pay = await handle.start_update(
        PurchaseWorkflow.pay, PayRequest(VISA), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    assert (await harness.progress(handle)).status == "pending"
    assert harness.fakes.count("charge_payment") == 0  # nothing charged before the seats
    assert harness.fakes.reserve_gate is not None
    harness.fakes.reserve_gate.set()

    assert (await pay.result()).status == "succeeded"
    await harness.wait_for_status(handle, "completed")
    # Not run to its end: skipping weeks with the short task timeout above times the run out
    # on the test server. The history so far is what replay needs.
    await harness.save_history(handle, "paid_while_reserving")
    assert harness.fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT]


async def test_cancel_while_the_reservation_is_under_way(harness: Harness) -> None:
    handle = await _started_while_reserving(harness, "cancelled_while_reserving")
    cancel = await handle.start_update(
        PurchaseWorkflow.cancel, CancelRequest(), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    assert harness.fakes.reserve_gate is not None
    harness.fakes.reserve_gate.set()

    assert (await cancel.result()).status == "cancelled"
    assert await harness.finish(handle, "cancelled_while_reserving") == "cancelled"
    assert harness.fakes.names() == ["reserve_seats", "release_seats"]
    order_id = handle.id
    assert harness.fakes.args("release_seats") == [ReleaseInput(order_id, "cancelled", None)]


async def test_pay_while_reserving_refused_once_sold_out(harness: Harness) -> None:
    handle = await _started_while_reserving(harness, "pay_while_reserving_sold_out")
    harness.fakes.sold_out = True
    pay = await handle.start_update(
        PurchaseWorkflow.pay, PayRequest(VISA), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    assert harness.fakes.reserve_gate is not None
    harness.fakes.reserve_gate.set()

    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await pay.result()
    cause = refusal(failed)
    assert (cause.type, cause.message) == (
        "InvalidState",
        "This order is sold_out; it can no longer be paid.",
    )
    assert await harness.finish(handle, "pay_while_reserving_sold_out") == "sold_out"
    assert harness.fakes.names() == ["reserve_seats"]


async def test_the_reservation_outlasts_a_database_outage(harness: Harness) -> None:
    """The API may already have told the buyer "held" (it took the seats; the run adopts
    them): the run's reservation keeps trying while the database is away, where it used to give
    up after five tries and release what the buyer was promised."""
    harness.fakes.reserve_outages = 6  # five used to be the limit
    answer, handle = await harness.create(harness.new_order_id("reserve_outlasts_outage"))
    assert answer.status == "reserved"
    assert harness.fakes.count("reserve_seats") == 7
    assert await harness.finish(handle, "reserve_outlasts_outage") == "expired"
    assert harness.fakes.names() == ["reserve_seats"] * 7 + ["release_seats"]
