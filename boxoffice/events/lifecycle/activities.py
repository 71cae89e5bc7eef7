"""The event-wide runs' outside effects on orders: which orders are left, what was done to each
(recorded once per run and order, so a restarted run repeats nothing), and the end of a run.

Each order is acted on through its own run (`OrderClient`): a cancel is support's
`support_cancel`, the same exactly-once path as `boxoffice orders cancel`, so every order's
history shows its refund; a postponement is the `event_moved` signal."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import EventRunOrder, Order
from boxoffice.core.errors import ErrorKind
from boxoffice.events.lifecycle.messages import (
    ACTING,
    CANCEL,
    FAILED,
    SKIPPED,
    NextOrders,
    OrderBatch,
    OrderOutcome,
    OrderTask,
    RunReport,
)
from boxoffice.orders.client import OrderClient
from boxoffice.orders.domain import FINAL, HELD, PAID, OrderError, OrderStatus
from boxoffice.orders.messages import EventMoved, SupportAction

T = TypeVar("T")
#: How often a settling order says it is alive; its heartbeat timeout is a few times this.
HEARTBEAT_SECONDS = 5.0
#: How long one ask of an order's run is waited for before it is asked again (a refund waits
#: for Stripe; the order's own run retries that).
_ANSWER_SECONDS = 120.0
#: An order's end -> what the run did to it.
_OUTCOME_OF: dict[str, str] = {
    OrderStatus.REFUNDED: "refunded",
    OrderStatus.CANCELLED: "released",
    OrderStatus.EXPIRED: "released",
}
#: Orders a run acts on: seats held or paid for.
OPEN = sorted(HELD | PAID)
_NEXT = text(
    """
    SELECT o.id FROM orders o
    LEFT JOIN event_run_orders r ON r.run_id = :run AND r.order_id = o.id
    WHERE o.event_id = :event AND o.id <> ALL(:exclude)
      AND ((r.order_id IS NULL AND o.status = ANY(:open))
           OR (r.message_id IS NULL AND r.outcome <> :skipped))
    ORDER BY o.id LIMIT :limit
    """
)


async def _heartbeating(work: Coroutine[Any, Any, T]) -> T:
    """Await `work`, telling Temporal every few seconds that this worker is alive: a killed
    worker's order is then handed to another within the heartbeat timeout, not the step's."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_SECONDS)
        if done:
            return task.result()
        activity.heartbeat()


class LifecycleActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], client: OrderClient) -> None:
        self._sessions = sessions
        self._client = client

    @activity.defn(name="next_event_orders")
    async def next_orders(self, request: NextOrders) -> OrderBatch:
        """Orders the run has still to finish: open and not yet acted on, or acted on and their
        buyer not yet told (a run restarted between the two)."""
        async with self._sessions() as session:
            rows = await session.execute(
                _NEXT,
                {
                    "run": request.run_id,
                    "event": uuid.UUID(request.event_id),
                    "exclude": request.exclude,
                    "open": OPEN,
                    "skipped": SKIPPED,
                    "limit": request.limit,
                },
            )
            return OrderBatch([row[0] for row in rows])

    @activity.defn(name="settle_event_order")
    async def settle_order(self, task: OrderTask) -> OrderOutcome:
        """Act on one order, once per run: the outcome recorded first is the one returned.

        The order is marked `acting` before it is asked, so an attempt that finds it ended
        knows whether an earlier attempt of this run ended it (its buyer must hear how) or it
        had ended by itself (nothing to tell)."""
        run = task.run
        async with self._sessions() as session, session.begin():
            done = await session.get(EventRunOrder, (run.run_id, task.order_id))
            if done is not None and done.outcome != ACTING:
                return OrderOutcome(task.order_id, done.outcome, done.detail)
            acted_before = done is not None
            if done is None:
                session.add(
                    EventRunOrder(run_id=run.run_id, order_id=task.order_id, outcome=ACTING)
                )
        outcome = await _heartbeating(
            self._cancel(task, acted_before) if run.kind == CANCEL else self._move(task)
        )
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(EventRunOrder)
                .where(
                    EventRunOrder.run_id == run.run_id,
                    EventRunOrder.order_id == task.order_id,
                    EventRunOrder.outcome == ACTING,
                )
                .values(outcome=outcome.outcome, detail=outcome.detail)
            )
            recorded = await session.get(
                EventRunOrder, (run.run_id, task.order_id), populate_existing=True
            )
            assert recorded is not None
            return OrderOutcome(task.order_id, recorded.outcome, recorded.detail)

    async def _cancel(self, task: OrderTask, acted_before: bool) -> OrderOutcome:
        action = SupportAction(actor=task.run.actor, reason=task.run.reason)
        try:
            # One update id per run: a retry attaches to the cancel already asked for (an
            # update lost with a restarted server is asked again), and the wait is bounded so
            # a lost answer is asked again rather than waited on until the activity times out.
            result = await asyncio.wait_for(
                self._client.support_cancel(task.order_id, action, update_id=task.run.run_id),
                timeout=_ANSWER_SECONDS,
            )
        except TimeoutError:
            raise ApplicationError(f"order {task.order_id}: no answer yet; asking again") from None
        except OrderError as refused:
            if refused.kind == ErrorKind.UNAVAILABLE:
                raise  # Temporal is away: Temporal retries this activity
            status = await self._status(task.order_id)
            if status in FINAL:
                if acted_before:  # this run's earlier attempt ended it: say how
                    return OrderOutcome(task.order_id, _OUTCOME_OF.get(status, status))
                return OrderOutcome(task.order_id, SKIPPED, refused.message)
            if (await self._client.progress(task.order_id)).status == OrderStatus.PENDING:
                # Its seats were just taken and its run has not heard yet: ask again soon.
                raise ApplicationError(f"order {task.order_id} is not decided yet") from None
            activity.logger.warning(
                "order %s could not be cancelled: %s", task.order_id, refused.message
            )
            return OrderOutcome(task.order_id, FAILED, refused.message)
        return OrderOutcome(task.order_id, _OUTCOME_OF.get(result.status, result.status))

    async def _move(self, task: OrderTask) -> OrderOutcome:
        run = task.run
        assert run.starts_at is not None and run.refund_deadline is not None
        moved = await self._client.event_moved(
            task.order_id, EventMoved(run.starts_at, run.refund_deadline, run.number)
        )
        return OrderOutcome(task.order_id, "moved" if moved else SKIPPED)

    async def _status(self, order_id: str) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(select(Order.status).where(Order.id == order_id))

    @activity.defn(name="finish_event_run")
    async def finish_run(self, task: OrderTask) -> RunReport:
        """The run's report (outcomes counted from what was recorded); a cancellation is
        marked done."""
        run = task.run
        async with self._sessions() as session, session.begin():
            counts = await session.execute(
                select(EventRunOrder.outcome, func.count())
                .where(EventRunOrder.run_id == run.run_id)
                .group_by(EventRunOrder.outcome)
            )
            outcomes = {outcome: int(n) for outcome, n in counts}
            failed = await session.execute(
                select(EventRunOrder.order_id, EventRunOrder.detail).where(
                    EventRunOrder.run_id == run.run_id, EventRunOrder.outcome == FAILED
                )
            )
            failures = {order_id: detail or "" for order_id, detail in failed}
            if run.kind == CANCEL:
                await session.execute(
                    text(
                        "UPDATE event_cancellations SET status = 'done', finished_at = now()"
                        " WHERE event_id = :event AND status = 'running'"
                    ),
                    {"event": uuid.UUID(run.event_id)},
                )
        return RunReport(run.run_id, sum(outcomes.values()), outcomes, failures)
