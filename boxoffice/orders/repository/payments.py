"""Payment attempts, refunds and the refunds of payments an order does not keep.

Each attempt's PaymentIntent is recorded *before* it is confirmed, so a retried charge reads it
back instead of charging again; its outcome is recorded with the order's status in one
transaction. A refund's row is written and locked before Stripe is asked: the lock serialises
concurrent runs for one order (or one stray PaymentIntent), and its status says whether the
money already went back."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import PaymentAttempt, Refund, StrayRefund
from boxoffice.orders.domain import OrderStatus
from boxoffice.orders.repository import limits, orders

#: What an attempt's outcome makes of its order.
_ORDER_STATUS = {"succeeded": OrderStatus.PAID, "declined": OrderStatus.RESERVED}


async def attempt(session: AsyncSession, order_id: str, number: int) -> PaymentAttempt | None:
    return await session.get(PaymentAttempt, (order_id, number))


async def record_attempt(
    session: AsyncSession, order_id: str, number: int, intent_id: str, amount: int, currency: str
) -> None:
    """The attempt's PaymentIntent, before it is confirmed; the order is now paying."""
    await session.execute(
        text(
            "INSERT INTO payment_attempts (order_id, attempt, payment_intent_id, status,"
            " amount, currency) VALUES (:order, :attempt, :pi, 'created', :amount, :cur)"
        ),
        {"order": order_id, "attempt": number, "pi": intent_id, "amount": amount, "cur": currency},
    )
    await orders.move_status(session, order_id, OrderStatus.PAYING, None)


async def record_outcome(
    session: AsyncSession, order_id: str, number: int, outcome: str, reason: str | None
) -> None:
    """The attempt's outcome (succeeded, declined, requires_action) and the order's status."""
    await session.execute(
        text(
            "UPDATE payment_attempts SET status = :status, decline_reason = :reason,"
            " updated_at = now() WHERE order_id = :order AND attempt = :attempt"
        ),
        {"status": outcome, "reason": reason, "order": order_id, "attempt": number},
    )
    # Declined: the buyer may try another card, counted anew. Paid: no longer an unpaid hold
    # of its client network.
    await limits.let_go(
        session, order_id, paid=outcome == "declined", unpaid=outcome == "succeeded"
    )
    status = _ORDER_STATUS.get(outcome, OrderStatus.PAYING)
    await orders.move_status(session, order_id, status, reason)


async def kept(session: AsyncSession, order_id: str) -> PaymentAttempt | None:
    """The order's payment: its attempt that succeeded (at most one does)."""
    return (
        await session.execute(
            select(PaymentAttempt).where(
                PaymentAttempt.order_id == order_id, PaymentAttempt.status == "succeeded"
            )
        )
    ).scalar_one_or_none()


async def claim_refund(
    session: AsyncSession, order_id: str, paid: PaymentAttempt, reason: str | None
) -> Refund:
    """The order's refund row, written if new and locked."""
    await session.execute(
        text(
            "INSERT INTO refunds (order_id, payment_intent_id, amount, status, reason)"
            " VALUES (:order, :pi, :amount, 'pending', :reason)"
            " ON CONFLICT (order_id) DO NOTHING"
        ),
        {"order": order_id, "pi": paid.payment_intent_id, "amount": paid.amount, "reason": reason},
    )
    return (
        await session.execute(select(Refund).where(Refund.order_id == order_id).with_for_update())
    ).scalar_one()


async def claim_stray_refund(
    session: AsyncSession, intent_id: str, order_id: str, amount: int, currency: str
) -> StrayRefund:
    """The refund row of a payment the order does not keep, written if new and locked."""
    await session.execute(
        insert(StrayRefund)
        .values(
            payment_intent_id=intent_id,
            order_id=order_id,
            amount=amount,
            currency=currency,
            status="pending",
        )
        .on_conflict_do_nothing(index_elements=["payment_intent_id"])
    )
    return (
        await session.execute(
            select(StrayRefund).where(StrayRefund.payment_intent_id == intent_id).with_for_update()
        )
    ).scalar_one()
