"""The order's tickets PDF, rendered and stored in S3 at a fixed key."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import Hold, Order, Ticket, TicketType
from boxoffice.core.s3 import tickets_pdf_key
from boxoffice.orders.messages import OrderRef, StoredDocument
from boxoffice.orders.repository import orders
from boxoffice.orders.tickets.pdf import (
    ReceiptLine,
    TicketPage,
    TicketsDocument,
    render_tickets_pdf,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class RecentPdfs:
    """The tickets PDFs this process stored in the last minute, for the email step that comes
    right after: it attaches these bytes instead of reading back from S3 what was just written
    there (in the purchase's profile, a GET and its parsing per order). Each is taken once, so
    a retried email reads S3; and only while fresh, so a PDF stored again since by another
    process (a retried store renders the same tickets) is not attached in its place for long.
    Activities run on the worker's event loop: no lock."""

    def __init__(self, keep_seconds: float = 60.0, most: int = 256) -> None:
        self._keep_seconds = keep_seconds
        self._most = most
        self._pdfs: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def keep(self, order_id: str, pdf: bytes) -> None:
        self._pdfs.pop(order_id, None)
        self._pdfs[order_id] = (time.monotonic(), pdf)
        while len(self._pdfs) > self._most:
            self._pdfs.popitem(last=False)

    def take(self, order_id: str) -> bytes | None:
        found = self._pdfs.pop(order_id, None)
        if found is None or time.monotonic() - found[0] > self._keep_seconds:
            return None
        return found[1]


class DocumentActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        s3_client: S3Client,
        bucket: str,
        recent: RecentPdfs | None = None,
    ) -> None:
        self._sessions = sessions
        self._s3 = s3_client
        self._bucket = bucket
        self._recent = recent

    @activity.defn(name="store_tickets_pdf")
    async def store_tickets_pdf(self, ref: OrderRef) -> StoredDocument:
        """Render the order's valid tickets into one PDF and put it at the order's fixed key.

        Idempotent: a retry renders the same tickets and overwrites the same object."""
        document = await self._load_document(ref.order_id)
        pdf = await asyncio.to_thread(render_tickets_pdf, document)
        key = tickets_pdf_key(ref.order_id)
        await asyncio.to_thread(
            self._s3.put_object,
            Bucket=self._bucket,
            Key=key,
            Body=pdf,
            ContentType="application/pdf",
        )
        async with self._sessions() as s, s.begin():
            await s.execute(
                update(Order).where(Order.id == ref.order_id).values(tickets_pdf_key=key)
            )
        if self._recent is not None:
            self._recent.keep(ref.order_id, pdf)
        activity.logger.info(
            "order %s: %d tickets stored at %s", ref.order_id, len(document.tickets), key
        )
        return StoredDocument(key=key)

    async def _load_document(self, order_id: str) -> TicketsDocument:
        async with self._sessions() as s, s.begin():
            order, event = await orders.with_event(s, order_id)
            # The price is the hold's: what the buyer paid, even if the ticket type changed since.
            tickets = (
                await s.execute(
                    select(Ticket.id, Ticket.code, TicketType.name, Hold.unit_price)
                    .join(TicketType, TicketType.id == Ticket.ticket_type_id)
                    .join(
                        Hold,
                        (Hold.order_id == Ticket.order_id)
                        & (Hold.ticket_type_id == Ticket.ticket_type_id),
                    )
                    .where(Ticket.order_id == order_id, Ticket.status == "valid")
                    .order_by(Ticket.position)
                )
            ).all()
            if not tickets:
                raise ApplicationError(
                    f"order {order_id} has no valid tickets", type="NoTickets", non_retryable=True
                )
            return TicketsDocument(
                order_id=order.id,
                event_name=event.name,
                venue=event.venue,
                starts_at=event.starts_at,
                buyer_name=order.buyer_name,
                currency=order.currency,
                tickets=[
                    TicketPage(
                        ticket_id=str(t.id), code=t.code, ticket_type=t.name, price=t.unit_price
                    )
                    for t in tickets
                ],
                addons=[
                    ReceiptLine(line["name"], line["quantity"], line["unit_price"])
                    for line in order.addons or []
                ],
                total=order.total_amount,
            )
