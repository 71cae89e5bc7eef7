"""The event-wide runs' outside effects on orders: which orders are left, what was done to each
(recorded once per run and order, so a restarted run repeats nothing), and the end of a run.

Each order is acted on through its own run (`OrderClient`): a cancel is support's
`support_cancel`, the same exactly-once path as `boxoffice orders cancel`, so every order's
history shows its refund; a postponement is the `event_moved` signal."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import EventRunOrder, Order
from boxoffice.core.errors import ErrorKind
from boxoffice.events.lifecycle.messages import (
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
        """Act on one order, once per run: the outcome recorded first is the one returned."""
        async with self._sessions() as session:
            done = await session.get(EventRunOrder, (task.run.run_id, task.order_id))
        if done is not None:
            return OrderOutcome(task.order_id, done.outcome, done.detail)
        outcome = await (self._cancel(task) if task.run.kind == CANCEL else self._move(task))
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert(EventRunOrder)
                .values(
                    run_id=task.run.run_id,
                    order_id=task.order_id,
                    outcome=outcome.outcome,
                    detail=outcome.detail,
                )
                .on_conflict_do_nothing(index_elements=["run_id", "order_id"])
            )
            recorded = await session.get(EventRunOrder, (task.run.run_id, task.order_id))
            assert recorded is not None
            return OrderOutcome(task.order_id, recorded.outcome, recorded.detail)

    async def _cancel(self, task: OrderTask) -> OrderOutcome:
        action = SupportAction(actor=task.run.actor, reason=task.run.reason)
        try:
            result = await self._client.support_cancel(task.order_id, action)
        except OrderError as refused:
            if refused.kind == ErrorKind.UNAVAILABLE:
                raise  # Temporal is away: Temporal retries this activity
            status = await self._status(task.order_id)
            if status in FINAL:
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
