"""The main paths of an order's life (paid, declined, expired, cancelled, sold out, payments
racing the hold's end) through the real PurchaseWorkflow on the time-skipping test server; the
outside world is the fakes in harness.py. Each test asserts the final status, the order in
which activities ran, and what was released or refunded. With BOXOFFICE_RECORD_HISTORIES=1
each path's history is saved for the replay tier. A payment racing the hold's end or a cancel:
`test_payment_races.py`; refunds and support: `test_refund_paths.py`; 3-D Secure:
`test_three_d_secure_paths.py`."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from boxoffice.orders.messages import (
    CancelRequest,
    CancelResult,
    OrderRef,
    PayRequest,
    PayResult,
    ReleaseInput,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import (
    DECLINE_REASON,
    EVENT_ID,
    FULFILMENT,
    TOTAL,
    VISA,
    Harness,
    declined,
    refusal,
    search_attribute,
)


async def test_paid_at_creation(harness: Harness) -> None:
    order_id = harness.new_order_id("paid")
    before = await harness.env.get_current_time()

    answer, handle = await harness.create(order_id, payment_method=VISA)

    assert answer.status == "reserved"
    assert (answer.order_id, answer.total_amount, answer.currency) == (order_id, TOTAL, "eur")
    assert answer.hold_expires_at is not None
    assert answer.hold_expires_at - before >= timedelta(seconds=900)
    progress = await harness.wait_for_status(handle, "completed")
    assert (progress.step, progress.payment_attempts, progress.last_error) == ("done", 1, None)
    assert await search_attribute(handle, "OrderStatus") == ["completed"]
    assert await search_attribute(handle, "EventId") == [EVENT_ID]

    assert await harness.finish(handle, "paid") == "completed"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", *FULFILMENT]
    reserve = fakes.args("reserve_seats")[0]
    assert (reserve.order_id, reserve.event_id, reserve.hold_expires_at) == (
        order_id,
        EVENT_ID,
        answer.hold_expires_at,
    )
    charge = fakes.args("charge_payment")[0]
    assert (charge.attempt, charge.amount, charge.currency, charge.payment_method) == (
        1,
        TOTAL,
        "eur",
        VISA,
    )
    for step in FULFILMENT:
        assert fakes.args(step) == [OrderRef(order_id)]


async def test_declined_then_paid(harness: Harness) -> None:
    order_id = harness.new_order_id("declined_then_paid")
    harness.fakes.charges = [declined()]
    answer, handle = await harness.create(order_id)
    assert answer.status == "reserved"

    first = await handle.execute_update(PurchaseWorkflow.pay, PayRequest("pm_card_declined"))

    assert first == PayResult(status="declined", decline_reason=DECLINE_REASON)
    progress = await harness.progress(handle)
    assert (progress.status, progress.last_error, progress.payment_attempts) == (
        "reserved",
        DECLINE_REASON,
        1,
    )
    assert harness.fakes.count("charge_payment") == 1  # a decline is not retried

    second = await handle.execute_update(PurchaseWorkflow.pay, PayRequest(VISA))

    assert second.status == "succeeded"
    assert await harness.finish(handle, "declined_then_paid") == "completed"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "charge_payment", "charge_payment", *FULFILMENT]
    assert [(c.attempt, c.payment_method) for c in fakes.args("charge_payment")] == [
        (1, "pm_card_declined"),
        (2, VISA),
    ]
    assert fakes.count("release_seats") == 0
    assert fakes.count("refund_payment") == 0


async def test_hold_expires(harness: Harness) -> None:
    order_id = harness.new_order_id("expired")
    answer, handle = await harness.create(order_id)
    assert answer.status == "reserved"
    started = await harness.env.get_current_time()
    real_start = time.monotonic()

    result = await harness.finish(handle, "expired")

    real_seconds = time.monotonic() - real_start
    simulated = await harness.env.get_current_time() - started
    assert result == "expired"
    assert simulated >= timedelta(seconds=900)
    assert real_seconds < 1.0, f"15 simulated minutes took {real_seconds:.2f}s of real time"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "release_seats"]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "expired", None)]


async def test_cancelled_in_hold(harness: Harness) -> None:
    order_id = harness.new_order_id("cancelled")
    _, handle = await harness.create(order_id)

    result = await handle.execute_update(
        PurchaseWorkflow.cancel, CancelRequest(reason="changed my mind")
    )

    assert result == CancelResult(status="cancelled")
    assert await harness.finish(handle, "cancelled") == "cancelled"
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "release_seats"]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "cancelled", None)]


async def test_sold_out(harness: Harness) -> None:
    order_id = harness.new_order_id("sold_out")
    harness.fakes.sold_out = True

    answer, handle = await harness.create(order_id, payment_method=VISA)

    assert (answer.status, answer.reason, answer.hold_expires_at) == (
        "sold_out",
        "Not enough seats left.",
        None,
    )
    assert await harness.finish(handle, "sold_out") == "sold_out"
    assert harness.fakes.names() == ["reserve_seats"]  # no charge, nothing to release


async def test_pay_after_hold_ended(harness: Harness) -> None:
    """Once the hold's end is decided (release under way), `pay` is refused; after the run
    closed, too."""
    order_id = harness.new_order_id("pay_after_hold")
    harness.fakes.release_gate = asyncio.Event()
    _, handle = await harness.create(order_id)

    await harness.skipping_time(harness.wait_for_call("release_seats"))
    progress = await harness.progress(handle)
    assert (progress.status, progress.step) == ("reserved", "release")
    with pytest.raises(WorkflowUpdateFailedError) as during_release:
        await handle.execute_update(PurchaseWorkflow.pay, PayRequest(VISA))
    assert refusal(during_release).type == "InvalidState"

    harness.fakes.release_gate.set()
    assert await harness.finish(handle, "pay_after_hold") == "expired"
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await handle.execute_update(PurchaseWorkflow.pay, PayRequest(VISA))
    fakes = harness.fakes
    assert fakes.names() == ["reserve_seats", "release_seats"]
    assert fakes.args("release_seats") == [ReleaseInput(order_id, "expired", None)]


async def test_duplicate_reservation(harness: Harness) -> None:
    """A retried create (same workflow id, same update id) gets the first answer."""
    order_id = harness.new_order_id("duplicate_reservation")

    first, handle = await harness.create(order_id)
    second, again = await harness.create(order_id)

    assert second == first
    assert first.status == "reserved"
    # Attached to the same run; no second one was started.
    assert (await again.describe()).run_id == (await handle.describe()).run_id
    assert harness.fakes.names() == ["reserve_seats"]
    await handle.execute_update(PurchaseWorkflow.cancel, CancelRequest(reason="cleanup"))
    assert await harness.finish(handle, "duplicate_reservation") == "cancelled"
    assert harness.fakes.names() == ["reserve_seats", "release_seats"]


async def test_reservation_failing_for_good_is_rejected_not_failed(harness: Harness) -> None:
    """A reservation that cannot be made (a bad order) answers the caller and closes the run
    cleanly, giving back any seats a lost attempt may have taken."""
    harness.fakes.reserve_error = ApplicationError(
        "Ticket type x does not belong to this event.", type="InvalidOrder", non_retryable=True
    )
    order_id = harness.new_order_id("reserve_rejected")

    answer, handle = await harness.create(order_id)

    assert answer.status == "rejected"
    assert answer.error_type == "InvalidOrder"
    assert answer.reason is not None and "does not belong" in answer.reason
    assert await harness.finish(handle, "reserve_rejected") == "rejected"
    assert harness.fakes.names() == ["reserve_seats", "release_seats"]
    assert harness.fakes.args("release_seats")[0].final_status == "cancelled"
