"""An event's sales report: per ticket type (and add-on) its capacity (stock), how many are
sold, held, refunded and checked in, and the revenue kept, read from the orders' holds and
tickets (the read model the activities keep): one query for the types, one for the add-ons.
Totals per currency add the lines up."""

from __future__ import annotations

import csv
import io
import uuid

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.events.domain import no_such_event
from boxoffice.events.repository import readable
from boxoffice.orders.domain import HELD, PAID, OrderStatus


class ReportLine(BaseModel):
    kind: str
    id: uuid.UUID
    name: str
    currency: str
    capacity: int
    available: int
    sold: int
    held: int
    refunded: int
    checked_in: int
    revenue: int


class ReportTotal(BaseModel):
    """Per currency, from the orders themselves: what the lines' revenue must add up to."""

    currency: str
    orders_paid: int
    revenue: int = Field(description="Paid orders' totals (tickets and add-ons).")
    orders_refunded: int
    refunded: int = Field(description="Refunded orders' totals.")


class EventReport(BaseModel):
    event_id: uuid.UUID
    name: str
    status: str
    lines: list[ReportLine]
    totals: list[ReportTotal]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        columns = list(ReportLine.model_fields)
        writer.writerow(columns)
        for line in self.lines:
            writer.writerow([getattr(line, column) for column in columns])
        return out.getvalue()


_TICKET_LINES = text(
    """
    SELECT 'ticket_type' AS kind, t.id, t.name, t.currency, t.capacity, t.available,
      COALESCE(SUM(h.quantity) FILTER (WHERE o.status = ANY(:paid)), 0) AS sold,
      COALESCE(SUM(h.quantity) FILTER (WHERE o.status = ANY(:held)), 0) AS held,
      COALESCE(SUM(h.quantity) FILTER (WHERE o.status = :refunded), 0) AS refunded,
      COALESCE(SUM(h.quantity * h.unit_price) FILTER (WHERE o.status = ANY(:paid)), 0)
        AS revenue,
      (SELECT count(*) FROM tickets k WHERE k.ticket_type_id = t.id
         AND k.checked_in_at IS NOT NULL) AS checked_in
    FROM ticket_types t
    LEFT JOIN holds h ON h.ticket_type_id = t.id
    LEFT JOIN orders o ON o.id = h.order_id
    WHERE t.event_id = :event
    GROUP BY t.id ORDER BY t.price, t.name
    """
)
_ADDON_LINES = text(
    """
    SELECT 'addon' AS kind, a.id, a.name, a.currency, a.stock AS capacity, a.available,
      COALESCE(SUM(h.quantity) FILTER (WHERE o.status = ANY(:paid)), 0) AS sold,
      COALESCE(SUM(h.quantity) FILTER (WHERE o.status = ANY(:held)), 0) AS held,
      COALESCE(SUM(h.quantity) FILTER (WHERE o.status = :refunded), 0) AS refunded,
      COALESCE(SUM(h.quantity * h.unit_price) FILTER (WHERE o.status = ANY(:paid)), 0)
        AS revenue,
      0 AS checked_in
    FROM addons a
    LEFT JOIN addon_holds h ON h.addon_id = a.id
    LEFT JOIN orders o ON o.id = h.order_id
    WHERE a.event_id = :event
    GROUP BY a.id ORDER BY a.name
    """
)
_TOTALS = text(
    """
    SELECT currency,
      count(*) FILTER (WHERE status = ANY(:paid)) AS orders_paid,
      COALESCE(SUM(total_amount) FILTER (WHERE status = ANY(:paid)), 0) AS revenue,
      count(*) FILTER (WHERE status = :refunded) AS orders_refunded,
      COALESCE(SUM(total_amount) FILTER (WHERE status = :refunded), 0) AS refunded
    FROM orders WHERE event_id = :event AND status = ANY(:counted)
    GROUP BY currency ORDER BY currency
    """
)


async def event_report(
    sessions: async_sessionmaker[AsyncSession], event_id: uuid.UUID
) -> EventReport:
    async with sessions() as session:
        event = await readable(session, event_id, drafts=True)
        if event is None:
            raise no_such_event(event_id)
        params = {
            "event": event_id,
            "paid": list(PAID),
            "held": list(HELD),
            "refunded": OrderStatus.REFUNDED,
        }
        lines = [
            ReportLine.model_validate(dict(row._mapping))
            for query in (_TICKET_LINES, _ADDON_LINES)
            for row in await session.execute(query, params)
        ]
        totals = [
            ReportTotal.model_validate(dict(row._mapping))
            for row in await session.execute(
                _TOTALS, params | {"counted": [*PAID, OrderStatus.REFUNDED]}
            )
        ]
    return EventReport(
        event_id=event.id, name=event.name, status=event.status, lines=lines, totals=totals
    )
