"""Order rows: written by the reservation, moved forward by the activities, read by the rest.

A status moves only along the arrows of `orders.domain.ALLOWED_FROM`, by a conditional UPDATE,
so a retried or late activity never moves an order backwards."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import (
    AuditEntry,
    Email,
    Event,
    Hold,
    Order,
    PaymentAttempt,
    Refund,
    StrayRefund,
    Ticket,
)
from boxoffice.orders.domain import HELD, OrderStatus, allowed_from
from boxoffice.orders.messages import Buyer, OrderItem, ReservedAddon, ReservedLine


async def move_status(
    session: AsyncSession,
    order_id: str,
    status: OrderStatus | str,
    error: str | None = None,
    *,
    keep_error: bool = False,
) -> bool:
    """Move the order's row to `status` if its current status allows it; False when it did not.

    `error` becomes the row's last error; with `keep_error`, a None leaves the previous one
    (e.g. a release after needs_attention keeps why the order got stuck)."""
    status = OrderStatus(status)
    last_error = "COALESCE(:error, last_error)" if keep_error else ":error"
    result = await session.execute(
        text(
            f"UPDATE orders SET status = :status, updated_at = now(), last_error = {last_error}"
            " WHERE id = :id AND status = ANY(:allowed) RETURNING id"
        ),
        {"status": status, "error": error, "id": order_id, "allowed": list(allowed_from(status))},
    )
    return result.first() is not None


async def with_event(session: AsyncSession, order_id: str) -> tuple[Order, Event]:
    """The order and its event; a missing order is a non-retryable `OrderNotFound` (retrying
    cannot make it appear)."""
    row = (
        await session.execute(
            select(Order, Event).join(Event, Event.id == Order.event_id).where(Order.id == order_id)
        )
    ).one_or_none()
    if row is None:
        raise ApplicationError(
            f"order {order_id} does not exist", type="OrderNotFound", non_retryable=True
        )
    return row[0], row[1]


@dataclass
class Lines:
    """What a reservation took: seats per ticket type, and add-ons."""

    tickets: Sequence[ReservedLine]
    addons: Sequence[ReservedAddon] = ()

    @property
    def total(self) -> int:
        return sum(t.quantity * t.unit_price for t in self.tickets) + sum(
            a.quantity * a.unit_price for a in self.addons
        )


def add_reserved(
    session: AsyncSession,
    order_id: str,
    event_id: object,
    buyer: Buyer,
    lines: Lines,
    currency: str,
    hold_expires_at: datetime,
    request_fingerprint: str | None,
) -> Order:
    """The row of an order whose seats were just taken (the caller flushes and commits)."""
    order = Order(
        id=order_id,
        event_id=event_id,
        buyer_email=buyer.email,
        buyer_name=buyer.name,
        owner_sub=buyer.account,
        buyer_key=buyer.cap_key,
        items=[_line_json(line) for line in lines.tickets],
        addons=[asdict(addon) for addon in lines.addons],
        total_amount=lines.total,
        currency=currency,
        status=OrderStatus.RESERVED,
        hold_expires_at=hold_expires_at,
        request_fingerprint=request_fingerprint,
    )
    session.add(order)
    return order


_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def lock(session: AsyncSession, order_id: str) -> None:
    """Wait for any other transaction reserving this order to end (until this one ends)."""
    await session.execute(_LOCK, {"key": f"order:{order_id}"})


async def record_sold_out(
    session: AsyncSession,
    order_id: str,
    event_id: object,
    buyer: Buyer,
    items: Sequence[OrderItem],
    reason: str,
    request_fingerprint: str | None,
) -> None:
    """A refused order gets a row too (without holds), so a retried request with the same key
    gets the same answer after its run has closed."""
    await session.execute(
        text(
            "INSERT INTO orders (id, event_id, buyer_email, buyer_name, items, total_amount,"
            " currency, status, request_fingerprint, last_error, owner_sub, buyer_key)"
            " VALUES (:id, :event, :email, :name, CAST(:items AS jsonb), 0, '', :status,"
            " :fp, :reason, :owner, :buyer) ON CONFLICT (id) DO NOTHING"
        ),
        {
            "id": order_id,
            "event": event_id,
            "email": buyer.email,
            "name": buyer.name,
            "items": json.dumps(
                [{"ticket_type_id": i.ticket_type_id, "quantity": i.quantity} for i in items]
            ),
            "status": OrderStatus.SOLD_OUT,
            "fp": request_fingerprint,
            "reason": reason,
            "owner": buyer.account,
            "buyer": buyer.cap_key,
        },
    )


def reserved_lines(order: Order) -> list[ReservedLine]:
    return [
        ReservedLine(line["ticket_type_id"], line["name"], line["quantity"], line["unit_price"])
        for line in order.items
    ]


def reserved_addons(order: Order) -> list[ReservedAddon]:
    return [ReservedAddon(**line) for line in order.addons or []]


async def set_hold_expiry(session: AsyncSession, order_id: str, at: datetime) -> bool:
    """Show a hold's new end while the seats are held (the workflow's timer enforces it)."""
    result = await session.execute(
        text(
            "UPDATE orders SET hold_expires_at = :at, updated_at = now()"
            " WHERE id = :id AND status = ANY(:held) RETURNING id"
        ),
        {"at": at, "id": order_id, "held": list(HELD)},
    )
    return result.first() is not None


async def note_error_while_held(session: AsyncSession, order_id: str, error: str) -> None:
    """Say why on a held order without moving it (a payment refused before any money moved)."""
    await session.execute(
        text(
            "UPDATE orders SET last_error = :error, updated_at = now()"
            " WHERE id = :id AND status = ANY(:held)"
        ),
        {"error": error, "id": order_id, "held": list(HELD)},
    )


def _line_json(line: ReservedLine) -> dict[str, object]:
    return {
        "ticket_type_id": line.ticket_type_id,
        "name": line.name,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
    }


async def matching(session: AsyncSession, where: OrderFilter) -> list[Order]:
    """Orders a support filter matches, oldest first."""
    query = select(Order).order_by(Order.created_at).limit(max(1, min(where.limit, 1000)))
    if where.status:
        query = query.where(Order.status == where.status)
    if where.event_id:
        query = query.where(Order.event_id == where.event_id)
    if where.buyer_email:
        query = query.where(func.lower(Order.buyer_email) == where.buyer_email.strip().lower())
    if where.created_before:
        query = query.where(Order.created_at < where.created_before)
    if where.created_after:
        query = query.where(Order.created_at > where.created_after)
    return list((await session.execute(query)).scalars().all())


async def everything_about(session: AsyncSession, order_id: str) -> dict[str, Any] | None:
    """The order's row and every row hanging off it, as plain dicts (support's detail view);
    None for an unknown order."""
    order = await session.get(Order, order_id)
    if order is None:
        return None
    related: dict[str, Any] = {
        "holds": Hold,
        "payments": PaymentAttempt,
        "refunds": Refund,
        "stray_refunds": StrayRefund,
        "tickets": Ticket,
        "emails": Email,
        "audit": AuditEntry,
    }
    detail: dict[str, Any] = {"order": _row(order)}
    for name, model in related.items():
        rows = await session.execute(select(model).where(model.order_id == order_id))
        detail[name] = [_row(r) for r in rows.scalars()]
    return detail


def audit(
    session: AsyncSession, order_id: str, actor: str, action: str, reason: str, outcome: str
) -> None:
    """Who did what to the order, why, and how it went."""
    session.add(
        AuditEntry(order_id=order_id, actor=actor, action=action, reason=reason, outcome=outcome)
    )


@dataclass
class OrderFilter:
    status: str | None = None
    event_id: uuid.UUID | None = None
    buyer_email: str | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    limit: int = 100


def _row(obj: Any) -> dict[str, Any]:
    return {column.key: getattr(obj, column.key) for column in obj.__table__.columns}
