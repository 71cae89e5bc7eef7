"""Our side of the books for a period: payment attempts, refunds (an order's and stray ones)
and the statuses of the orders they belong to. Read only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import Order, PaymentAttempt, Refund, StrayRefund
from boxoffice.orders.reconciliation.messages import BookPayment, BookRefund, Books, Period

R = TypeVar("R", Refund, StrayRefund)


def _bounds(period: Period) -> tuple[datetime, datetime]:
    return (
        datetime.fromtimestamp(period.since, UTC),
        datetime.fromtimestamp(period.until, UTC),
    )


async def _refunds(
    session: AsyncSession,
    model: type[R],
    intent_ids: list[str],
    order_ids: list[str],
    since: datetime,
    until: datetime,
) -> Sequence[R]:
    """Refund rows (an order's, or stray ones: the same columns) naming these PaymentIntents or
    orders, or written in the period."""
    return (
        await session.scalars(
            select(model).where(
                or_(
                    model.payment_intent_id.in_(intent_ids),
                    model.order_id.in_(order_ids),
                    and_(model.created_at >= since, model.created_at < until),
                )
            )
        )
    ).all()


async def read_books(
    session: AsyncSession, period: Period, intent_ids: list[str], order_ids: list[str]
) -> Books:
    """What we recorded in the period, and every row naming the PaymentIntents or orders Stripe
    showed (whenever written). Rows are stamped when written, just before Stripe is asked, so
    their times fall next to Stripe's `created`."""
    since, until = _bounds(period)
    attempts = (
        await session.scalars(
            select(PaymentAttempt).where(
                or_(
                    PaymentAttempt.payment_intent_id.in_(intent_ids),
                    PaymentAttempt.order_id.in_(order_ids),
                    and_(
                        PaymentAttempt.status == "succeeded",
                        PaymentAttempt.created_at >= since,
                        PaymentAttempt.created_at < until,
                    ),
                )
            )
        )
    ).all()
    refunds = await _refunds(session, Refund, intent_ids, order_ids, since, until)
    strays = await _refunds(session, StrayRefund, intent_ids, order_ids, since, until)
    books = Books(
        payments=[
            BookPayment(a.order_id, a.payment_intent_id, a.amount, a.status) for a in attempts
        ],
        refunds=[
            *(
                BookRefund(r.order_id, r.payment_intent_id, r.stripe_refund_id, r.amount, r.status)
                for r in refunds
            ),
            *(
                BookRefund(
                    r.order_id, r.payment_intent_id, r.stripe_refund_id, r.amount, r.status, "stray"
                )
                for r in strays
            ),
        ],
        in_period_payments=sorted(
            a.payment_intent_id
            for a in attempts
            if a.status == "succeeded" and since <= a.created_at < until
        ),
        in_period_refunds=sorted(
            [r.payment_intent_id for r in refunds if since <= r.created_at < until]
            + [r.payment_intent_id for r in strays if since <= r.created_at < until]
        ),
    )
    named = set(order_ids) | {p.order_id for p in books.payments}
    named |= {r.order_id for r in books.refunds}
    rows = await session.execute(select(Order.id, Order.status).where(Order.id.in_(named)))
    books.order_status = {order_id: status for order_id, status in rows.all()}
    return books
