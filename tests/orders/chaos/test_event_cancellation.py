"""An event cancelled while its workers are SIGKILLed and then the Temporal server is: the
cancellation finishes with the same counts as without faults (every order refunded or released
once, every buyer told, nothing failed), and every order invariant still holds."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

from boxoffice.events.lifecycle.notices import notice_message_id
from boxoffice.events.lifecycle.workflow import cancellation_workflow_id
from tests.orders.chaos.buyers import Answers, place_order, wait_for_statuses
from tests.orders.chaos.conftest import Chaos
from tests.orders.chaos.invariants import check_all
from tests.purchases import create_event


async def _progress(http: httpx.AsyncClient, event_id: str, within: float) -> dict[str, Any]:
    """Poll the cancellation's progress (read from PostgreSQL: it answers while Temporal is
    away) until it is done."""
    deadline = time.monotonic() + within
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            answer = await http.get(f"/events/{event_id}/cancellation")
            if answer.status_code == 200:
                last = answer.json()
                if last["status"] == "done":
                    return last
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"the cancellation never finished; last seen {last}")


async def test_event_cancellation_survives_worker_and_server_kills(chaos: Chaos) -> None:
    cluster, sizes = chaos.cluster, chaos.sizes
    answers = Answers()
    total = sizes.cancel_completed + sizes.cancel_held
    async with cluster.http(timeout=120) as http:
        event = await create_event(http, capacity=total)
        paid = await asyncio.gather(
            *(
                place_order(http, event, payment_method="pm_card_visa", answers=answers)
                for _ in range(sizes.cancel_completed)
            )
        )
        held = await asyncio.gather(
            *(place_order(http, event, answers=answers) for _ in range(sizes.cancel_held))
        )
        paid_ids = [order_id for order_id, _ in paid if order_id is not None]
        held_ids = [order_id for order_id, _ in held if order_id is not None]
        await wait_for_statuses(chaos.world.sessions, paid_ids, {"completed"}, within=300)

        started = await http.post(
            f"/events/{event['id']}/cancel",
            json={"reason": "chaos: the venue flooded", "confirm": event["id"]},
        )
        answers.note(started)
        assert started.status_code == 202, started.text
        # The workers die mid-way (refunds and emails in flight), then the server does.
        await asyncio.sleep(random.uniform(0.2, 1.0))
        await asyncio.to_thread(cluster.workers.restart, "purchases", "payments", "fulfilment")
        await asyncio.sleep(random.uniform(0.5, 1.5))
        await asyncio.to_thread(cluster.temporal_server.kill)
        await asyncio.sleep(random.uniform(0.5, 1.5))
        await asyncio.to_thread(cluster.temporal_server.start)
        revived = await asyncio.to_thread(cluster.workers.revive)
        progress = await _progress(http, event["id"], within=300)

    order_ids = paid_ids + held_ids
    found = await wait_for_statuses(
        chaos.world.sessions, order_ids, {"refunded", "cancelled"}, within=120
    )
    run = chaos.world.temporal.get_workflow_handle(cancellation_workflow_id(event["id"]))
    # The books say "done" from the run's last activity; the run itself closes on its next
    # workflow task, a moment later.
    with contextlib.suppress(WorkflowFailureError):  # its status below says how it ended
        await asyncio.wait_for(run.result(), timeout=120)
    described = await run.describe()
    await chaos.record_history(run.id, "chaos_event_cancellation")

    violations = list(answers.bad)
    if len(order_ids) != total:
        violations.append(f"{total - len(order_ids)} orders were never placed")
    counts = (progress["orders_total"], progress["done"], progress["failed"], progress["left"])
    if counts != (len(order_ids), len(order_ids), 0, 0):
        violations.append(f"progress (total, done, failed, left) is {counts}")
    expected = {"refunded": len(paid_ids), "released": len(held_ids)}
    if progress["outcomes"] != expected:
        violations.append(f"outcomes {progress['outcomes']}, expected {expected}")
    violations += [
        f"order {o} ended {s}" for o, s in found.items() if s not in {"refunded", "cancelled"}
    ]
    if described.status != WorkflowExecutionStatus.COMPLETED:
        violations.append(f"the cancellation's run is {described.status}")
    sent = {m.message_id for m in chaos.world.mail.messages}
    run_id = cancellation_workflow_id(event["id"])
    untold = [o for o in order_ids if notice_message_id(run_id, o) not in sent]
    violations += [f"buyer of {o} was never told" for o in untold]
    violations += await check_all(chaos.world, [event["id"]])
    chaos.reports.record(
        "event cancelled under worker and Temporal kills",
        {
            "orders": len(order_ids),
            "refunded": sum(s == "refunded" for s in found.values()),
            "released": sum(s == "cancelled" for s in found.values()),
            "buyers told": len(order_ids) - len(untold),
            "workers revived": len(revived),
        },
        violations,
    )
