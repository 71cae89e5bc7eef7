"""The Temporal dev server SIGKILLed during a load of purchases and started again on the same
database file: every order finishes, charged once, and no run is lost or failed."""

from __future__ import annotations

import asyncio
import random

import httpx

from tests.orders.chaos.buyers import Answers, place_order, wait_for_statuses
from tests.orders.chaos.conftest import Chaos
from tests.orders.chaos.invariants import check_all
from tests.purchases import create_event


async def _buyer(
    http: httpx.AsyncClient, event: dict[str, object], answers: Answers, spread: float
) -> tuple[str | None, int]:
    await asyncio.sleep(random.uniform(0, spread))
    return await place_order(
        http, event, payment_method="pm_card_visa", answers=answers, within=300
    )


async def test_temporal_killed_and_restarted_under_load(chaos: Chaos) -> None:
    cluster = chaos.cluster
    restarts = chaos.sizes.temporal_restarts
    load = chaos.sizes.temporal_load
    answers = Answers()
    revived: list[str] = []
    async with cluster.http(timeout=120) as http:
        event = await create_event(http, capacity=load)
        buyers = [
            asyncio.create_task(_buyer(http, event, answers, spread=restarts * 4.0))
            for _ in range(load)
        ]
        for _ in range(restarts):
            await asyncio.sleep(random.uniform(1, 3))
            await asyncio.to_thread(cluster.temporal_server.kill)
            await asyncio.sleep(random.uniform(0.5, 1.5))
            await asyncio.to_thread(cluster.temporal_server.start)
            # A supervisor restarts a worker that gave up while the server was away.
            revived += await asyncio.to_thread(cluster.workers.revive)
        placed = await asyncio.gather(*buyers)
    order_ids = [order_id for order_id, _ in placed if order_id is not None]
    unplaced = [status for order_id, status in placed if order_id is None]

    found = await wait_for_statuses(chaos.world.sessions, order_ids, {"completed"}, within=300)
    await chaos.record_history(order_ids[0], "chaos_temporal_restarted")

    violations = answers.bad + [f"a buyer's order was refused with {s}" for s in unplaced]
    violations += await check_all(chaos.world, [event["id"]])
    chaos.reports.record(
        "temporal SIGKILL + restart under load",
        {
            "restarts": restarts,
            "orders": load,
            "completed": sum(status == "completed" for status in found.values()),
            "503s": answers.statuses.get(503, 0),
            "workers revived": len(revived),
        },
        violations,
    )
