"""Many buyers hold seats and walk away: every seat comes back within seconds of its hold's
expiry, each order ends `expired`, and nothing was charged.

Orders are started the way the API starts them (update-with-start) but with a short hold, so
the test does not wait the default 15 minutes. The lag is measured in the database itself:
`holds.released_at - orders.hold_expires_at`, both written by the system under test."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from datetime import timedelta

from sqlalchemy import text
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy

from boxoffice.orders.client import pipeline_config
from boxoffice.orders.messages import (
    RESERVATION_UPDATE_ID,
    Buyer,
    OrderItem,
    PipelineConfig,
    PurchaseInput,
    ReservationAnswer,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow
from tests.orders.chaos.buyers import wait_for_statuses
from tests.orders.chaos.conftest import Chaos
from tests.orders.chaos.invariants import check_all
from tests.purchases import create_event, general


#: Long enough that every hold is taken before the first expires (about 8 holds a second on
#: a busy 2-core machine), so what is measured is the expiries, not the creations' backlog.
def hold_seconds(count: int) -> int:
    return max(10, count // 8)


#: "Within seconds": a released seat may lag its expiry by at most this much on a loaded box
#: (judged in the full run only, see `Sizes.judge_release_lag`).
RELEASE_BOUND = timedelta(seconds=15)
#: How often a creator asks again when the server is too busy to answer in time.
ASK_AGAIN = 10


async def _hold(
    client: Client, task_queue: str, config: PipelineConfig, event: dict[str, object]
) -> str:
    order_id = f"ord_{uuid.uuid4().hex}"
    order = PurchaseInput(
        order_id,
        str(event["id"]),
        [OrderItem(general(event), 1)],
        Buyer("walks.away@example.com", "Walks Away"),
        config=config,
    )
    for _ in range(ASK_AGAIN):
        try:
            answer: ReservationAnswer = await client.execute_update_with_start_workflow(
                "reservation",
                start_workflow_operation=WithStartWorkflowOperation(
                    PurchaseWorkflow.run,
                    order,
                    id=order_id,
                    task_queue=task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                ),
                id=RESERVATION_UPDATE_ID,
                result_type=ReservationAnswer,
            )
            break
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            # A busy server did not answer in time; asking again attaches to the same run.
            continue
    else:
        raise AssertionError(f"order {order_id} was never answered")
    assert answer.status == "reserved", answer
    return order_id


async def test_abandoned_holds_come_back(chaos: Chaos) -> None:
    count = chaos.sizes.abandoned_holds
    settings = chaos.cluster.settings
    config = dataclasses.replace(pipeline_config(settings), hold_seconds=hold_seconds(count))
    async with chaos.cluster.http() as http:
        event = await create_event(http, capacity=count)
    gate = asyncio.Semaphore(40)

    async def one() -> str:
        async with gate:
            return await _hold(chaos.world.temporal, settings.task_queue_purchases, config, event)

    began = time.monotonic()
    order_ids = await asyncio.gather(*(one() for _ in range(count)))
    creating = time.monotonic() - began
    found = await wait_for_statuses(
        chaos.world.sessions, order_ids, {"expired"}, within=hold_seconds(count) + 300
    )

    await chaos.record_history(order_ids[0], "chaos_abandoned_hold")
    async with chaos.world.sessions() as session:
        lags = (
            (
                await session.execute(
                    text(
                        "SELECT h.released_at - o.hold_expires_at FROM holds h"
                        " JOIN orders o ON o.id = h.order_id WHERE o.event_id = :event"
                    ),
                    {"event": event["id"]},
                )
            )
            .scalars()
            .all()
        )
    never = [lag for lag in lags if lag is None]
    late = [lag for lag in lags if lag is not None and lag > RELEASE_BOUND]
    early = [lag for lag in lags if lag is not None and lag < timedelta(0)]
    violations = [f"{len(never)} holds never released"] * bool(never)
    if chaos.sizes.judge_release_lag:
        violations += [f"{len(late)} holds released more than {RELEASE_BOUND} after expiry"] * bool(
            late
        )
    violations += [f"{len(early)} holds released before their expiry"] * bool(early)
    violations += await check_all(chaos.world, [event["id"]])
    worst = max((lag for lag in lags if lag is not None), default=timedelta(0))
    chaos.reports.record(
        "abandoned holds",
        {
            "holds": count,
            "seconds to take them": int(creating),
            "expired": sum(status == "expired" for status in found.values()),
            "seats back": len(lags) - len(never),
            f"seats back later than {int(RELEASE_BOUND.total_seconds())} s": len(late),
            "slowest release ms after expiry": int(worst.total_seconds() * 1000),
        },
        violations,
    )
