"""Support's extend_hold on the real PurchaseWorkflow: the hold's expiry moves, within a total
bound, never after payment or expiry, and lands with the hold timer even mid-charge.

Each test asserts the update's answer (or refusal), the order's outcome and what the workflow
asked of the outside world. With BOXOFFICE_RECORD_HISTORIES=1 each path's history is saved for
the replay tier."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from boxoffice.orders.messages import (
    CancelResult,
    HoldExpiryChange,
    HoldExtended,
    OrderProgress,
    OrderRef,
    ReleaseInput,
    ResendRequest,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import (
    FULFILMENT,
    VISA,
    Harness,
    PurchaseHandle,
    declined,
    refusal,
)
from .support_steps import SUPPORT, action, completed_order, extend, sleep_until


async def settled_progress(harness: Harness, handle: PurchaseHandle) -> OrderProgress:
    """The status once the workflow has handled everything that happened so far (a timer
    fired by env.sleep included): a refused update is answered by a workflow task, which
    carries any fired timer with it."""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.resend, ResendRequest(SUPPORT, reason=""))
    assert refusal(refused).type == "InvalidRequest"
    return await harness.progress(handle)


async def scheduled_at(handle: PurchaseHandle, activity_name: str) -> list[datetime]:
    """When the workflow scheduled each run of an activity (server time, from its history)."""
    history = await handle.fetch_history()
    return [
        event.event_time.ToDatetime(tzinfo=UTC)
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        and event.activity_task_scheduled_event_attributes.activity_type.name == activity_name
    ]


async def test_extend_hold_moves_expiry(harness: Harness) -> None:
    order_id = harness.new_order_id("hold_extended")
    answer, handle = await harness.create(order_id)
    assert answer.hold_expires_at is not None
    old_expiry = answer.hold_expires_at
    new_expiry = old_expiry + timedelta(minutes=30)

    extended = await handle.execute_update(PurchaseWorkflow.extend_hold, extend(30))

    assert extended == HoldExtended(hold_expires_at=new_expiry)
    assert harness.fakes.args("record_hold_expiry") == [HoldExpiryChange(order_id, new_expiry)]
    progress = await harness.progress(handle)
    assert (progress.status, progress.hold_expires_at) == ("reserved", new_expiry)

    # Past the old end: the re-armed hold keeps the seats.
    await sleep_until(harness, old_expiry + timedelta(minutes=1))
    progress = await settled_progress(harness, handle)
    assert (progress.status, progress.step) == ("reserved", "hold")
    # Just before the new end: still held.
    await sleep_until(harness, new_expiry - timedelta(minutes=1))
    progress = await settled_progress(harness, handle)
    assert (progress.status, progress.step) == ("reserved", "hold")
    assert harness.fakes.count("release_seats") == 0

    assert await harness.finish(handle, "hold_extended") == "expired"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "record_hold_expiry", "release_seats"]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "expired", None)]
    [released_at] = await scheduled_at(handle, "release_seats")
    assert released_at >= new_expiry


async def test_extend_hold_bounded_in_total(harness: Harness) -> None:
    """max_hold_extension_seconds bounds all extensions together; up to it is allowed."""
    order_id = harness.new_order_id("hold_extended_to_bound")
    assert harness.config.max_hold_extension_seconds == 3600
    answer, handle = await harness.create(order_id)
    assert answer.hold_expires_at is not None
    first = answer.hold_expires_at + timedelta(minutes=45)

    assert await handle.execute_update(PurchaseWorkflow.extend_hold, extend(45)) == HoldExtended(
        first
    )
    for minutes in (16, 61, 0, -5):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(PurchaseWorkflow.extend_hold, extend(minutes))
        assert refusal(refused).type == "InvalidRequest", minutes
        assert "60 minutes in all (45 used so far)" in refusal(refused).message
    assert (await harness.progress(handle)).hold_expires_at == first

    # Exactly up to the bound, then nothing more.
    last = first + timedelta(minutes=15)
    assert await handle.execute_update(PurchaseWorkflow.extend_hold, extend(15)) == HoldExtended(
        last
    )
    with pytest.raises(WorkflowUpdateFailedError) as over:
        await handle.execute_update(PurchaseWorkflow.extend_hold, extend(1))
    assert refusal(over).type == "InvalidRequest"
    assert (await harness.progress(handle)).hold_expires_at == last

    result = await handle.execute_update(PurchaseWorkflow.support_cancel, action("no sale"))

    assert result == CancelResult(status="cancelled")
    assert await harness.finish(handle, "hold_extended_to_bound") == "cancelled"
    fakes = harness.fakes
    assert fakes.names() == [
        "reserve_seats",
        "record_hold_expiry",
        "record_hold_expiry",
        "release_seats",
    ]
    assert fakes.args("record_hold_expiry") == [
        HoldExpiryChange(order_id, first),
        HoldExpiryChange(order_id, last),
    ]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "cancelled", None)]


async def test_extend_hold_refused_after_payment(harness: Harness) -> None:
    order_id, handle = await completed_order(harness, "extend_refused_after_payment")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.extend_hold, extend(10))

    assert refusal(refused).type == "InvalidState"
    assert (await harness.progress(handle)).status == "completed"
    assert await harness.finish(handle, "extend_refused_after_payment") == "completed"
    assert harness.fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT]
    assert harness.fakes.args("email_tickets") == [OrderRef(order_id)]


async def test_extend_hold_refused_after_expiry(harness: Harness) -> None:
    """Once the hold's end is decided (release under way) an extension is refused; after the
    run closed, too."""
    order_id = harness.new_order_id("extend_refused_after_expiry")
    harness.fakes.release_gate = asyncio.Event()
    _, handle = await harness.create(order_id)

    await harness.skipping_time(harness.wait_for_call("release_seats"))
    progress = await harness.progress(handle)
    assert (progress.status, progress.step) == ("reserved", "release")
    with pytest.raises(WorkflowUpdateFailedError) as during_release:
        await handle.execute_update(PurchaseWorkflow.extend_hold, extend(10))
    assert refusal(during_release).type == "InvalidState"

    harness.fakes.release_gate.set()
    assert await harness.finish(handle, "extend_refused_after_expiry") == "expired"
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await handle.execute_update(PurchaseWorkflow.extend_hold, extend(10))
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "release_seats"]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "expired", None)]


async def test_extend_hold_during_charge_at_creation(harness: Harness) -> None:
    """An order created with a card is `paying` before its hold loop starts; an extension
    then is kept, and the hold (the card declined) ends at the new time."""
    order_id = harness.new_order_id("hold_extended_during_charge")
    harness.fakes.charge_gate = asyncio.Event()
    harness.fakes.charges = [declined()]
    answer, handle = await harness.create(order_id, payment_method=VISA)
    assert answer.hold_expires_at is not None
    new_expiry = answer.hold_expires_at + timedelta(minutes=20)
    await harness.wait_for_call("charge_payment")
    assert (await harness.progress(handle)).status == "paying"

    extended = await handle.execute_update(PurchaseWorkflow.extend_hold, extend(20))

    assert extended == HoldExtended(new_expiry)
    harness.fakes.charge_gate.set()
    progress = await harness.wait_for(handle, "the hold", lambda p: p.step == "hold")
    assert (progress.status, progress.hold_expires_at) == ("reserved", new_expiry)
    await sleep_until(harness, answer.hold_expires_at + timedelta(minutes=1))
    progress = await settled_progress(harness, handle)
    assert (progress.status, progress.step) == ("reserved", "hold")

    assert await harness.finish(handle, "hold_extended_during_charge") == "expired"
    fakes = harness.fakes
    assert fakes.names() == [
        "reserve_seats",
        "charge_payment",
        "record_hold_expiry",
        "release_seats",
    ]
    assert fakes.args("record_hold_expiry") == [HoldExpiryChange(order_id, new_expiry)]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "expired", None)]
    [released_at] = await scheduled_at(handle, "release_seats")
    assert released_at >= new_expiry


async def test_extend_lands_with_hold_timer(harness: Harness) -> None:
    """An extension accepted in the same workflow task in which the hold's timer fires wins:
    the hold is re-armed rather than ended."""
    order_id = harness.new_order_id("extend_at_hold_expiry")
    worker = harness.own_uncached_queue(f"extend-{order_id}")
    fakes = harness.fakes

    async with worker():
        # An uncached worker now and then leaves a workflow task unanswered; a short task
        # timeout has the server hand it out again within a second.
        answer, handle = await harness.create(order_id, task_timeout=timedelta(seconds=1))
    assert answer.hold_expires_at is not None
    new_expiry = answer.hold_expires_at + timedelta(minutes=10)
    # No worker now: the hold's timer fires, then the extension arrives; both wait for one task.
    await sleep_until(harness, answer.hold_expires_at + timedelta(milliseconds=1))
    extension = asyncio.create_task(handle.execute_update(PurchaseWorkflow.extend_hold, extend(10)))
    await asyncio.sleep(0.3)
    assert not extension.done()

    async with worker():
        assert await extension == HoldExtended(new_expiry)
        progress = await settled_progress(harness, handle)
        assert (progress.status, progress.step) == ("reserved", "hold")
        assert await harness.finish(handle, "extend_at_hold_expiry") == "expired"

    assert fakes.names() == ["reserve_seats", "record_hold_expiry", "release_seats"]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "expired", None)]
    [released_at] = await scheduled_at(handle, "release_seats")
    assert released_at >= new_expiry
