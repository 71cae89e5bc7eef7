"""What holding seats without paying, and trying card after card, cost a buyer: a short first
hold that a card attempt lengthens, and a limit on payment attempts per order."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from boxoffice.orders.messages import (
    CancelRequest,
    CancelResult,
    HoldExpiryChange,
    PayRequest,
    PayResult,
    ReleaseInput,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .harness import DECLINE_REASON, FULFILMENT, VISA, Harness, declined, refusal

FIRST_HOLD = timedelta(seconds=120)
WHOLE_HOLD = timedelta(seconds=900)
CAP_REFUSAL = "At most 4 tickets per buyer for this event, and this card has reached it."


def short_first_hold(harness: Harness) -> None:
    harness.config = replace(harness.config, first_hold_seconds=120, hold_seconds=900)


async def test_an_unpaid_hold_ends_after_the_first_hold(harness: Harness) -> None:
    short_first_hold(harness)
    order_id = harness.new_order_id("first_hold_expired")
    before = await harness.env.get_current_time()
    answer, handle = await harness.create(order_id)
    assert answer.hold_expires_at is not None
    assert FIRST_HOLD <= answer.hold_expires_at - before < FIRST_HOLD + timedelta(seconds=5)

    await harness.env.sleep(FIRST_HOLD + timedelta(seconds=1))
    await harness.wait_for_status(handle, "expired")  # long before the whole hold would end
    assert await harness.finish(handle, "first_hold_expired") == "expired"
    assert harness.fakes.names() == ["reserve_seats", "release_seats"]
    assert harness.fakes.args("release_seats") == [ReleaseInput(order_id, "expired", None)]


async def test_a_declined_card_lengthens_the_hold_to_its_whole(harness: Harness) -> None:
    short_first_hold(harness)
    harness.fakes.charges = [declined()]
    order_id = harness.new_order_id("first_hold_lengthened_by_decline")
    answer, handle = await harness.create(order_id)
    assert answer.hold_expires_at is not None
    whole = answer.hold_expires_at - FIRST_HOLD + WHOLE_HOLD

    first = await handle.execute_update(PurchaseWorkflow.pay, PayRequest("pm_card_declined"))

    assert first == PayResult(status="declined", decline_reason=DECLINE_REASON)
    assert (await harness.progress(handle)).hold_expires_at == whole
    assert harness.fakes.args("record_hold_expiry") == [HoldExpiryChange(order_id, whole)]
    # Another card, after the first hold would have ended: the seats are still held.
    await harness.env.sleep(FIRST_HOLD + timedelta(seconds=30))
    assert (await harness.progress(handle)).status == "reserved"
    second = await handle.execute_update(PurchaseWorkflow.pay, PayRequest(VISA))
    assert second.status == "succeeded"
    assert await harness.finish(handle, "first_hold_lengthened_by_decline") == "completed"
    assert harness.fakes.names() == [
        "reserve_seats",
        "charge_payment",
        "record_hold_expiry",
        "charge_payment",
        *FULFILMENT,
    ]


async def test_three_d_secure_lengthens_the_hold(harness: Harness) -> None:
    short_first_hold(harness)
    harness.fakes.charges = [
        PayResult(status="requires_action", payment_intent_id="pi_3ds", client_secret="cs_3ds")
    ]
    harness.fakes.settles = [PayResult(status="declined", decline_reason="abandoned")]
    order_id = harness.new_order_id("first_hold_lengthened_by_3ds")
    answer, handle = await harness.create(order_id)
    assert answer.hold_expires_at is not None
    whole = answer.hold_expires_at - FIRST_HOLD + WHOLE_HOLD

    paying = await handle.execute_update(PurchaseWorkflow.pay, PayRequest("pm_card_3ds"))

    assert paying.status == "requires_action"
    assert (await harness.progress(handle)).hold_expires_at == whole
    # The buyer never completes the challenge: the whole hold runs out, then the seats go.
    assert await harness.finish(handle, "first_hold_lengthened_by_3ds") == "expired"
    assert harness.fakes.names() == [
        "reserve_seats",
        "charge_payment",
        "record_hold_expiry",
        "settle_payment",
        "release_seats",
    ]


async def test_a_cap_refusal_is_a_decline_that_lengthens_nothing(harness: Harness) -> None:
    short_first_hold(harness)
    harness.fakes.charges = [
        ApplicationError(CAP_REFUSAL, type="TicketCapReached", non_retryable=True)
    ]
    order_id = harness.new_order_id("ticket_cap_reached")
    answer, handle = await harness.create(order_id)

    refused = await handle.execute_update(PurchaseWorkflow.pay, PayRequest(VISA))

    assert refused == PayResult(status="declined", decline_reason=CAP_REFUSAL)
    progress = await harness.progress(handle)
    assert (progress.status, progress.hold_expires_at) == ("reserved", answer.hold_expires_at)
    assert await harness.finish(handle, "ticket_cap_reached") == "expired"
    assert harness.fakes.names() == ["reserve_seats", "charge_payment", "release_seats"]


async def test_payment_attempts_are_limited_per_order(harness: Harness) -> None:
    harness.config = replace(harness.config, max_payment_attempts=2)
    harness.fakes.charges = [declined(), declined()]
    order_id = harness.new_order_id("payment_attempts_exhausted")
    answer, handle = await harness.create(order_id)
    for card in ("pm_card_a", "pm_card_b"):
        outcome = await handle.execute_update(PurchaseWorkflow.pay, PayRequest(card))
        assert outcome.status == "declined"

    with pytest.raises(WorkflowUpdateFailedError) as third:
        await handle.execute_update(PurchaseWorkflow.pay, PayRequest(VISA))

    cause = refusal(third)
    assert cause.type == "TooManyPaymentAttempts"
    assert "2 payment attempts" in cause.message
    progress = await harness.progress(handle)
    assert (progress.status, progress.hold_expires_at) == ("reserved", answer.hold_expires_at)
    assert progress.payment_attempts == 2
    cancelled = await handle.execute_update(PurchaseWorkflow.cancel, CancelRequest())
    assert cancelled == CancelResult(status="cancelled")
    assert await harness.finish(handle, "payment_attempts_exhausted") == "cancelled"
    assert harness.fakes.names() == [
        "reserve_seats",
        "charge_payment",
        "charge_payment",
        "release_seats",
    ]
