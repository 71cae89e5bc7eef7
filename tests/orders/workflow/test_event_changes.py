"""What an order's run does when its event changes: a postponement (`event_moved`) moves the
buyer's refund deadline and how long the run stays open; add-ons ride along to the reservation."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from boxoffice.orders.messages import (
    AddonItem,
    CancelRequest,
    CancelResult,
    EventMoved,
    ResendRequest,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import FULFILMENT, VISA, Harness, PurchaseHandle, refusal


async def handled_so_far(handle: PurchaseHandle) -> None:
    """Wait until the run has handled what was sent to it (a refused update is answered by a
    workflow task, which carries any signal before it)."""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PurchaseWorkflow.resend, ResendRequest("support:t", ""))
    assert refusal(refused).type == "InvalidRequest"


async def test_postponed_order_refunds_until_the_new_deadline(harness: Harness) -> None:
    """After the event moves, the buyer may cancel past the old deadline, and the run stays
    open past the old start (its stay-open timer was set anew)."""
    order_id = harness.new_order_id("event_moved_buyer_refunds")
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_status(handle, "completed")
    fakes = harness.fakes
    later = timedelta(days=30)
    await handle.signal(
        PurchaseWorkflow.event_moved,
        EventMoved(fakes.event_starts_at + later, fakes.refund_deadline + later, number=1),
    )
    await handled_so_far(handle)
    # Past the old start and its grace: the old run would have closed by now.
    now = await harness.env.get_current_time()
    old_close = fakes.event_starts_at + timedelta(seconds=harness.config.order_grace_seconds)
    await harness.env.sleep(old_close - now + timedelta(minutes=5))

    result = await handle.execute_update(
        PurchaseWorkflow.cancel, CancelRequest(reason="cannot come on the new date")
    )

    assert result == CancelResult(status="refunded")
    assert await harness.finish(handle, "event_moved_buyer_refunds") == "refunded"
    assert fakes.names()[-3:] == ["void_tickets", "refund_payment", "release_seats"]


async def test_postponed_order_closes_after_the_new_start(harness: Harness) -> None:
    order_id = harness.new_order_id("event_moved_closes_later")
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_status(handle, "completed")
    fakes = harness.fakes
    new_start = fakes.event_starts_at + timedelta(days=2)
    await handle.signal(
        PurchaseWorkflow.event_moved,
        EventMoved(new_start, new_start - timedelta(hours=1), number=1),
    )
    await handled_so_far(handle)

    assert await harness.finish(handle, "event_moved_closes_later") == "completed"
    closed_at = await harness.env.get_current_time()
    assert closed_at >= new_start + timedelta(seconds=harness.config.order_grace_seconds)


async def test_news_of_an_earlier_postponement_is_ignored(harness: Harness) -> None:
    """Two postponements' runs may reach an order out of order: the later one's dates win."""
    order_id = harness.new_order_id("event_moved_twice")
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_status(handle, "completed")
    fakes = harness.fakes
    second = fakes.event_starts_at + timedelta(days=60)
    first = fakes.event_starts_at + timedelta(days=1)
    await handle.signal(
        PurchaseWorkflow.event_moved, EventMoved(second, second - timedelta(hours=1), number=2)
    )
    await handle.signal(
        PurchaseWorkflow.event_moved, EventMoved(first, first - timedelta(hours=1), number=1)
    )
    await handled_so_far(handle)
    now = await harness.env.get_current_time()
    await harness.env.sleep(first - now + timedelta(hours=2))

    # Past the first move's deadline, before the second's: the buyer may still cancel.
    result = await handle.execute_update(PurchaseWorkflow.cancel, CancelRequest(reason="no"))

    assert result == CancelResult(status="refunded")
    assert await harness.finish(handle, "event_moved_twice") == "refunded"


async def test_addons_go_to_the_reservation(harness: Harness) -> None:
    """The run passes the add-ons to the reservation, which prices them into the total that
    is charged; everything after is as for tickets alone."""
    order_id = harness.new_order_id("addons_completed")
    parking = [AddonItem("addon-parking", 1), AddonItem("addon-drinks", 2)]
    order = replace(harness.order(order_id, VISA), addons=parking)
    handle = await harness.start(order)

    assert await harness.finish(handle, "addons_completed") == "completed"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT]
    assert fakes.args("reserve_seats")[0].addons == parking
