"""The order as the API shows it, read from Postgres (the read model activities keep current)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import Order, Ticket
from boxoffice.core.http.fields import Money
from boxoffice.orders.schemas import AddonLine, BuyerPublic, OrderLine, OrderPublic, TicketPublic


async def load_order(session: AsyncSession, order_id: str) -> OrderPublic | None:
    order = await session.get(Order, order_id, populate_existing=True)
    if order is None:
        return None
    tickets = (
        (
            await session.execute(
                select(Ticket).where(Ticket.order_id == order_id).order_by(Ticket.position)
            )
        )
        .scalars()
        .all()
    )
    return OrderPublic(
        id=order.id,
        status=order.status,
        event_id=order.event_id,
        buyer=BuyerPublic(email=order.buyer_email, name=order.buyer_name),
        items=[
            OrderLine(
                ticket_type_id=uuid.UUID(line["ticket_type_id"]),
                name=line.get("name"),
                quantity=line["quantity"],
                unit_price=line.get("unit_price"),
            )
            for line in order.items
        ],
        addons=[AddonLine.model_validate(line) for line in order.addons or []],
        total=Money(amount=order.total_amount, currency=order.currency),
        hold_expires_at=order.hold_expires_at,
        last_error=order.last_error,
        tickets=[
            TicketPublic(id=t.id, ticket_type_id=t.ticket_type_id, code=t.code, status=t.status)
            for t in tickets
        ],
        tickets_pdf_url=f"/orders/{order.id}/tickets.pdf" if order.tickets_pdf_key else None,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


async def checked_in_count(session: AsyncSession, order_id: str) -> int:
    """How many of the order's tickets got someone in at the door."""
    used = await session.scalar(
        select(func.count()).where(Ticket.order_id == order_id, Ticket.checked_in_at.is_not(None))
    )
    return int(used or 0)
