"""EventCancellationWorkflow and EventPostponementWorkflow on the time-skipping server, every
activity faked by name: each order acted on once and its buyer told once, never more than the
window in flight, progress as a query and search attributes, a report at the end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boxoffice.core.temporal import search_attributes as sa
from boxoffice.events.lifecycle.messages import (
    CANCEL,
    FAILED,
    POSTPONE,
    SKIPPED,
    EventRun,
    NextOrders,
    OrderBatch,
    OrderOutcome,
    OrderTask,
    RunProgress,
    RunReport,
)
from boxoffice.events.lifecycle.workflow import (
    EventCancellationWorkflow,
    EventPostponementWorkflow,
    cancellation_workflow_id,
    postponement_workflow_id,
)
from boxoffice.orders.messages import Done
from tests.orders.workflow.harness import save_history, short_config

EVENT = "8d4c3f0e-0000-4000-8000-000000000001"


@dataclass
class RunFakes:
    """The event's orders as a fake database: what each order's settle and notice did."""

    orders: list[str]
    # order id -> outcome its settle answers (default: refunded)
    outcomes: dict[str, str] = field(default_factory=dict)
    settled: list[str] = field(default_factory=list)
    told: list[str] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    finished: list[str] = field(default_factory=list)

    def activities(self) -> list[Callable[..., Any]]:
        return [self.next_orders, self.settle_order, self.notify_buyer, self.finish_run]

    @activity.defn(name="next_event_orders")
    async def next_orders(self, request: NextOrders) -> OrderBatch:
        # Not acted on yet, or acted on and its buyer not told yet (as the real query).
        left = [
            o
            for o in self.orders
            if o not in request.exclude
            and (o not in self.settled or (o not in self.told and self._tellable(o)))
        ]
        return OrderBatch(left[: request.limit])

    def _tellable(self, order_id: str) -> bool:
        return self.outcomes.get(order_id, "refunded") != SKIPPED

    @activity.defn(name="settle_event_order")
    async def settle_order(self, task: OrderTask) -> OrderOutcome:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)  # a refund takes a while: the window fills
            if task.order_id not in self.settled:
                self.settled.append(task.order_id)
            return OrderOutcome(task.order_id, self.outcomes.get(task.order_id, "refunded"))
        finally:
            self.in_flight -= 1

    @activity.defn(name="notify_event_buyer")
    async def notify_buyer(self, task: OrderTask) -> Done:
        self.told.append(task.order_id)
        return Done(changed=True)

    @activity.defn(name="finish_event_run")
    async def finish_run(self, task: OrderTask) -> RunReport:
        self.finished.append(task.run.run_id)
        outcomes: dict[str, int] = {}
        for order_id in self.settled:
            outcome = self.outcomes.get(order_id, "refunded")
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        failed = {o: "Stripe refused" for o in self.settled if self.outcomes.get(o) == FAILED}
        return RunReport(task.run.run_id, len(self.settled), outcomes, failed)


@dataclass
class RunHarness:
    env: WorkflowEnvironment
    task_queue: str
    fakes: RunFakes

    def run(self, kind: str, window: int = 5, **extra: object) -> EventRun:
        run_id = (
            cancellation_workflow_id(EVENT)
            if kind == CANCEL
            else postponement_workflow_id(EVENT, 1)
        )
        return EventRun(
            event_id=EVENT,
            run_id=f"{run_id}-{uuid.uuid4().hex[:6]}",
            kind=kind,
            reason="the venue flooded",
            actor="organiser-1",
            window=window,
            config=short_config(self.task_queue),
            **extra,  # type: ignore[arg-type]
        )


@pytest_asyncio.fixture
async def runs(env: WorkflowEnvironment) -> AsyncIterator[RunHarness]:
    task_queue = f"event-runs-{uuid.uuid4()}"
    fakes = RunFakes(orders=[f"ord_{n:03d}" for n in range(23)])
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[EventCancellationWorkflow, EventPostponementWorkflow],
        activities=fakes.activities(),
    ):
        yield RunHarness(env, task_queue, fakes)


async def search_attribute(handle: WorkflowHandle[Any, Any], key: SearchAttributeKey[int]) -> int:
    described = await handle.describe()
    return described.typed_search_attributes[key]


async def test_cancellation_acts_on_every_order_once_within_the_window(runs: RunHarness) -> None:
    fakes = runs.fakes
    fakes.outcomes = {"ord_004": FAILED, "ord_007": SKIPPED, "ord_010": "released"}
    run = runs.run(CANCEL, window=5)
    handle = await runs.env.client.start_workflow(
        EventCancellationWorkflow.run, run, id=run.run_id, task_queue=runs.task_queue
    )

    report = await handle.result()

    assert sorted(fakes.settled) == fakes.orders
    # Every buyer told once; the order that had ended meanwhile (skipped) is not.
    assert sorted(fakes.told) == [o for o in fakes.orders if o != "ord_007"]
    assert 1 < fakes.most_in_flight <= 5
    assert report.orders == 23
    assert report.outcomes == {"refunded": 20, FAILED: 1, SKIPPED: 1, "released": 1}
    assert report.failed == {"ord_004": "Stripe refused"}
    assert fakes.finished == [run.run_id]
    assert await handle.query(EventCancellationWorkflow.progress) == RunProgress(23, 1, 0, True)
    assert await search_attribute(handle, sa.EVENT_ORDERS_DONE) == 23
    assert await search_attribute(handle, sa.EVENT_ORDERS_FAILED) == 1
    described = await handle.describe()
    assert described.typed_search_attributes[sa.EVENT_ID] == EVENT
    await save_history(handle, "event_cancellation")


async def test_a_restarted_run_finishes_only_what_is_left(runs: RunHarness) -> None:
    """A run restarted over a recorded half (a continue-as-new, say) settles and tells only the
    orders that are left: what was recorded is not done again."""
    fakes = runs.fakes
    fakes.settled = fakes.orders[:10]
    fakes.told = fakes.orders[:8]  # two acted on, their buyers not told yet
    run = runs.run(CANCEL, window=3, done=8, failed=0)
    handle = await runs.env.client.start_workflow(
        EventCancellationWorkflow.run, run, id=run.run_id, task_queue=runs.task_queue
    )

    await handle.result()

    assert sorted(fakes.settled) == fakes.orders
    assert sorted(fakes.told) == fakes.orders
    assert len(fakes.told) == len(set(fakes.told))
    assert (await handle.query(EventCancellationWorkflow.progress)).done == 23


async def test_postponement_tells_every_buyer_once(runs: RunHarness) -> None:
    fakes = runs.fakes
    fakes.outcomes = {o: "moved" for o in fakes.orders} | {"ord_002": SKIPPED}
    starts = datetime(2027, 6, 1, 19, 0, tzinfo=UTC)
    run = runs.run(
        POSTPONE, window=4, starts_at=starts, refund_deadline=starts - timedelta(days=2), number=1
    )
    handle = await runs.env.client.start_workflow(
        EventPostponementWorkflow.run, run, id=run.run_id, task_queue=runs.task_queue
    )

    report = await handle.result()

    assert sorted(fakes.told) == [o for o in fakes.orders if o != "ord_002"]
    assert report.outcomes == {"moved": 22, SKIPPED: 1}
    assert fakes.most_in_flight <= 4
    assert await search_attribute(handle, sa.EVENT_ORDERS_DONE) == 23
    await save_history(handle, "event_postponement")


async def test_an_event_without_orders_finishes_at_once(runs: RunHarness) -> None:
    runs.fakes.orders = []
    run = runs.run(CANCEL)
    handle = await runs.env.client.start_workflow(
        EventCancellationWorkflow.run, run, id=run.run_id, task_queue=runs.task_queue
    )

    report = await handle.result()

    assert report == RunReport(run.run_id, 0, {}, {})
    assert runs.fakes.finished == [run.run_id]
