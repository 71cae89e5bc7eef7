"""EventCancellationWorkflow and EventPostponementWorkflow: every order of an event acted on
through its own run, however often a worker or the server dies on the way.

Both page the event's orders from PostgreSQL (not from Temporal's visibility, which lags), keep
at most `window` orders in flight (a sliding window: a finished order's place is taken at
once), and tell each order's buyer once. What was done to each order is recorded by the
activities, so the run continues-as-new when its history grows and a restarted run repeats
nothing. Deterministic code only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from boxoffice.core.temporal import search_attributes as sa
    from boxoffice.events.lifecycle.activities import HEARTBEAT_SECONDS, LifecycleActivities
    from boxoffice.events.lifecycle.messages import (
        FAILED,
        SKIPPED,
        EventRun,
        NextOrders,
        OrderTask,
        RunProgress,
        RunReport,
    )
    from boxoffice.events.lifecycle.notices import NoticeActivities
    from boxoffice.orders.workflow import activity_options as options

#: An order's cancel waits for its refund; Stripe may be slow: each attempt gets this long.
_ORDER_STEP = timedelta(minutes=10)


def cancellation_workflow_id(event_id: str) -> str:
    return f"event-cancel-{event_id}"


def postponement_workflow_id(event_id: str, number: int) -> str:
    return f"event-postpone-{event_id}-{number}"


class _EventRun:
    """The fan-out both runs share."""

    def __init__(self) -> None:
        self._done = 0
        self._failed = 0
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._finished = False

    async def _every_order(self, run: EventRun) -> bool:
        """Act on every order; False when the run should continue-as-new first (its history
        is long), with nothing in flight."""
        self._done, self._failed = run.done, run.failed
        workflow.upsert_search_attributes([sa.EVENT_ID.value_set(run.event_id)])
        self._show_progress()
        fetching, restart = True, False
        while True:
            if fetching and workflow.info().is_continue_as_new_suggested():
                fetching, restart = False, True  # drain, then start afresh
            while fetching and len(self._in_flight) < run.window:
                batch = await workflow.execute_activity_method(
                    LifecycleActivities.next_orders,
                    NextOrders(
                        run.event_id,
                        run.run_id,
                        sorted(self._in_flight),
                        run.window - len(self._in_flight),
                    ),
                    **options.inventory(run.config),
                )
                if not batch.order_ids:
                    fetching = False
                    break
                for order_id in batch.order_ids:
                    self._in_flight[order_id] = asyncio.create_task(self._one(run, order_id))
            if not self._in_flight:
                self._show_progress()
                run.done, run.failed = self._done, self._failed
                return not restart
            shown = self._done
            await workflow.wait_condition(
                lambda: any(task.done() for task in self._in_flight.values())
            )
            for order_id, task in list(self._in_flight.items()):
                if task.done():
                    del self._in_flight[order_id]
                    task.result()
            if self._done // run.window != shown // run.window:
                self._show_progress()  # every `window` orders: not one history event each

    async def _one(self, run: EventRun, order_id: str) -> None:
        task = OrderTask(run, order_id)
        outcome = await workflow.execute_activity_method(
            LifecycleActivities.settle_order,
            task,
            start_to_close_timeout=_ORDER_STEP,
            # A killed worker's order goes to another in seconds, not after the whole step.
            heartbeat_timeout=timedelta(seconds=HEARTBEAT_SECONDS * 6),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
        )
        if outcome.outcome != SKIPPED:
            await workflow.execute_activity_method(
                NoticeActivities.notify_buyer, task, **options.notice(run.config)
            )
        self._done += 1
        if outcome.outcome == FAILED:
            self._failed += 1

    def _show_progress(self) -> None:
        """Search attributes, so the Temporal UI lists runs by progress (and failures)."""
        workflow.upsert_search_attributes(
            [
                sa.EVENT_ORDERS_DONE.value_set(self._done),
                sa.EVENT_ORDERS_FAILED.value_set(self._failed),
            ]
        )

    async def _finish(self, run: EventRun) -> RunReport:
        report = await workflow.execute_activity_method(
            LifecycleActivities.finish_run,
            OrderTask(run, ""),
            **options.inventory(run.config),
        )
        self._finished = True
        return report

    def _progress(self) -> RunProgress:
        return RunProgress(self._done, self._failed, len(self._in_flight), self._finished)


@workflow.defn
class EventCancellationWorkflow(_EventRun):
    """Every open order of a cancelled event: holds released, payments refunded, tickets
    voided, each through its own order's run; every buyer one email; a report at the end."""

    @workflow.run
    async def run(self, run: EventRun) -> RunReport:
        if not await self._every_order(run):
            workflow.continue_as_new(run)
        return await self._finish(run)

    @workflow.query
    def progress(self) -> RunProgress:
        return self._progress()


@workflow.defn
class EventPostponementWorkflow(_EventRun):
    """Every open order of a postponed event told the new date (its run stays open longer, its
    buyer may cancel until the new deadline); every buyer one email."""

    @workflow.run
    async def run(self, run: EventRun) -> RunReport:
        if not await self._every_order(run):
            workflow.continue_as_new(run)
        return await self._finish(run)

    @workflow.query
    def progress(self) -> RunProgress:
        return self._progress()
