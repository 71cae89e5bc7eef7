"""Stripe (the emulator, behind the fault proxy) unreachable, slow, answering 500, or cutting
the connection after it has charged: payments retry and succeed once, or the attempt is
settled and the buyer pays again; no order is ever charged twice.

The emulator keeps its state in memory, so outages are the proxy's, never a restart."""

from __future__ import annotations

import asyncio
import random

import pytest

from tests.orders.chaos.buyers import Answers, pay_until_paid, place_order, wait_for_statuses
from tests.orders.chaos.conftest import Chaos
from tests.orders.chaos.fault_proxy import Fault
from tests.orders.chaos.invariants import check_all, intents_by_order
from tests.purchases import create_event

#: fault -> (delay added per request, how long it lasts). Slow is longer than the payment
#: timeout, so attempts time out while their requests still reach Stripe late.
FAULTS: dict[str, tuple[Fault, float, float]] = {
    "unreachable": (Fault.REFUSE, 0.0, 3.0),
    "slow": (Fault.DELAY, 5.0, 7.0),
    "answering 500": (Fault.HTTP_500, 0.0, 3.0),
    "cut after charging": (Fault.CUT, 0.0, 3.0),
}
ORDERS_PER_ROUND = 2


@pytest.mark.parametrize("name", list(FAULTS))
async def test_stripe_fault(chaos: Chaos, name: str) -> None:
    fault, delay, duration = FAULTS[name]
    cluster = chaos.cluster
    rounds = chaos.sizes.stripe_rounds
    answers = Answers()
    order_ids: list[str] = []
    attempts = 0
    async with cluster.http(timeout=120) as http:
        event = await create_event(http, capacity=rounds * ORDERS_PER_ROUND)
        for _ in range(rounds):
            placed = [await place_order(http, event, answers=answers) for _ in range(2)]
            ids = [order_id for order_id, _ in placed if order_id is not None]
            assert len(ids) == ORDERS_PER_ROUND, placed
            order_ids += ids
            with cluster.proxies.stripe.fault_for_block(fault, delay):
                buyers = [
                    asyncio.create_task(pay_until_paid(http, chaos, order_id, answers))
                    for order_id in ids
                ]
                await asyncio.sleep(duration + random.uniform(0, 1))
            attempts += sum(await asyncio.gather(*buyers))
    found = await wait_for_statuses(chaos.world.sessions, order_ids, {"completed"})
    await chaos.record_history(order_ids[0], "chaos_stripe_" + name.replace(" ", "_"))

    violations = answers.bad + await check_all(chaos.world, [event["id"]])
    # Cut answers leave PaymentIntents created at Stripe but never recorded (never confirmed).
    intents = await asyncio.to_thread(intents_by_order, chaos.world.stripe, set(order_ids))
    chaos.reports.record(
        f"stripe {name}",
        {
            "rounds": rounds,
            "orders": len(order_ids),
            "payment requests": attempts,
            "PaymentIntents": sum(len(found) for found in intents.values()),
            "completed": sum(status == "completed" for status in found.values()),
        },
        violations,
    )
