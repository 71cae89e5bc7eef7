"""What a cancellation would do (the dry run) and what it has done, read from PostgreSQL: the
orders' read model and what the run recorded for each order (`event_run_orders`). Asking never
needs Temporal, so progress shows while its server is away."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import EventCancellation, EventRunOrder, Order
from boxoffice.core.http.fields import Money
from boxoffice.events.lifecycle.messages import FAILED, SKIPPED
from boxoffice.events.lifecycle.schemas import CancellationPreview, CancellationProgress
from boxoffice.events.lifecycle.workflow import cancellation_workflow_id
from boxoffice.orders.domain import HELD, PAID

#: At most this many failed orders are listed (all are counted).
_FAILURES_SHOWN = 200
_BY_STATUS = text(
    "SELECT status, currency, count(*) AS orders, COALESCE(sum(total_amount), 0) AS amount"
    " FROM orders WHERE event_id = :event GROUP BY status, currency"
)


async def open_orders(session: AsyncSession, event_id: uuid.UUID) -> int:
    """Orders a cancellation acts on: seats held or paid for."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.event_id == event_id, Order.status.in_(sorted(HELD | PAID)))
        )
        or 0
    )


async def preview(session: AsyncSession, event_id: uuid.UUID) -> CancellationPreview:
    by_status: dict[str, int] = {}
    refunds: dict[str, int] = {}
    holds = 0
    for status, currency, orders, amount in await session.execute(_BY_STATUS, {"event": event_id}):
        by_status[status] = by_status.get(status, 0) + int(orders)
        if status in PAID:
            refunds[currency] = refunds.get(currency, 0) + int(amount)
        elif status in HELD:
            holds += int(orders)
    paid = sum(n for status, n in by_status.items() if status in PAID)
    return CancellationPreview(
        event_id=event_id,
        orders_by_status=dict(sorted(by_status.items())),
        refunds=[Money(amount=a, currency=c) for c, a in sorted(refunds.items())],
        orders_to_refund=paid,
        holds_to_release=holds,
        emails=paid + holds,
    )


async def of_cancellation(
    session: AsyncSession, event_id: uuid.UUID
) -> CancellationProgress | None:
    record = await session.get(EventCancellation, event_id, populate_existing=True)
    if record is None:
        return None
    run_id = cancellation_workflow_id(str(event_id))
    rows = await session.execute(
        select(
            EventRunOrder.outcome,
            func.count(),
            func.count().filter(EventRunOrder.message_id.is_not(None)),
        )
        .where(EventRunOrder.run_id == run_id)
        .group_by(EventRunOrder.outcome)
    )
    outcomes: dict[str, int] = {}
    done = 0
    for outcome, orders, told in rows:
        outcomes[outcome] = int(orders)
        # Done: acted on and its buyer told (or nothing to tell: it had ended meanwhile).
        done += int(orders) if outcome == SKIPPED else int(told)
    failures = {
        order_id: detail or ""
        for order_id, detail in await session.execute(
            select(EventRunOrder.order_id, EventRunOrder.detail)
            .where(EventRunOrder.run_id == run_id, EventRunOrder.outcome == FAILED)
            .order_by(EventRunOrder.order_id)
            .limit(_FAILURES_SHOWN)
        )
    }
    return CancellationProgress(
        event_id=event_id,
        workflow_id=run_id,
        status=record.status,
        reason=record.reason,
        actor=record.actor,
        started_at=record.started_at,
        finished_at=record.finished_at,
        orders_total=record.orders_total,
        done=done,
        failed=outcomes.get(FAILED, 0),
        left=max(record.orders_total - done, 0) if record.status == "running" else 0,
        failures=failures,
        outcomes=dict(sorted(outcomes.items())),
    )
