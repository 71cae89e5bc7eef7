"""Tickets by email. Delivery is at least once: a retried send repeats the same Message-ID,
so mail clients and our own records recognise the duplicate."""

from __future__ import annotations

import asyncio
import hashlib
import re
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.auth.order_tokens import order_token
from boxoffice.core.database.models import Email, Ticket
from boxoffice.core.mail import mask_email, parse_smtp_url, send_email
from boxoffice.core.s3 import read_object, tickets_pdf_key
from boxoffice.orders.activities.documents import RecentPdfs
from boxoffice.orders.domain import PAID, OrderStatus
from boxoffice.orders.messages import EmailSent, OrderRef, ResendInput
from boxoffice.orders.receipt import order_receipt
from boxoffice.orders.repository import orders
from boxoffice.orders.tickets.mail import TicketsMail, tickets_links, tickets_message
from boxoffice.orders.tickets.pdf import format_starts_at

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def tickets_message_id(order_id: str, resend: int = 0) -> str:
    """The Message-ID of an order's tickets email (or of its n-th resend). Stable, so a retried
    send is a visible duplicate, while each resend is a message of its own.

    An order id that is not safe inside a Message-ID is replaced by its hash."""
    local = (
        order_id
        if _SAFE_ID.fullmatch(order_id)
        else hashlib.sha256(order_id.encode()).hexdigest()[:32]
    )
    suffix = f".resend{resend}" if resend else ""
    return f"<tickets.{local}{suffix}@boxoffice>"


class EmailActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        s3_client: S3Client,
        bucket: str,
        smtp_url: str,
        mail_from: str,
        public_base_url: str,
        order_token_secret: bytes,
        recent: RecentPdfs | None = None,
    ) -> None:
        parse_smtp_url(smtp_url)  # a bad URL fails the worker at start, not every order
        self._sessions = sessions
        self._s3 = s3_client
        self._bucket = bucket
        self._smtp_url = smtp_url
        self._mail_from = mail_from
        self._public_base_url = public_base_url.rstrip("/")
        # A guest's links carry the order's token: the mail is the buyer's proof.
        self._order_token_secret = order_token_secret
        # The PDF store_tickets_pdf just put, when it ran in this process (documents.py).
        self._recent = recent

    @activity.defn(name="email_tickets")
    async def email_tickets(self, ref: OrderRef) -> EmailSent:
        """Email the buyer the stored PDF, then record the message and complete the order.

        A retry after the send sends again with the same Message-ID; the record is keyed by it
        and the status update is conditional, so both happen once."""
        message_id = tickets_message_id(ref.order_id)
        mail, _ = await self._send(ref.order_id, message_id, None, just_stored=True)
        async with self._sessions() as s, s.begin():
            await _record(s, message_id, mail.order_id, "tickets", mail.buyer_email)
            await orders.move_status(s, mail.order_id, OrderStatus.COMPLETED)
        activity.logger.info(
            "order %s: tickets sent to %s as %s",
            mail.order_id,
            mask_email(mail.buyer_email),
            message_id,
        )
        return EmailSent(message_id=message_id, recipient=mail.buyer_email)

    @activity.defn(name="resend_tickets_email")
    async def resend_tickets_email(self, request: ResendInput) -> EmailSent:
        """Support's resend: the n-th resend has its own Message-ID, recorded, so a retry of
        the same resend is one message and a new resend is another."""
        message_id = tickets_message_id(request.order_id, request.sequence)
        mail, recipient = await self._send(request.order_id, message_id, request.to)
        async with self._sessions() as s, s.begin():
            await _record(s, message_id, mail.order_id, "resend", recipient)
        activity.logger.info(
            "order %s: tickets resent to %s as %s",
            mail.order_id,
            mask_email(recipient),
            message_id,
        )
        return EmailSent(message_id=message_id, recipient=recipient)

    async def _send(
        self, order_id: str, message_id: str, to: str | None, *, just_stored: bool = False
    ) -> tuple[TicketsMail, str]:
        """`just_stored`: the purchase's own email, right after its PDF was stored; a resend
        always reads what S3 holds now."""
        mail = await self._load(order_id)
        pdf = None
        if just_stored and self._recent is not None and mail.pdf_key == tickets_pdf_key(order_id):
            pdf = self._recent.take(order_id)
        if pdf is None:
            pdf = await asyncio.to_thread(read_object, self._s3, self._bucket, mail.pdf_key)
        if pdf is None:
            raise ApplicationError(f"no tickets PDF at {mail.pdf_key}", type="PdfMissing")
        recipient = to or mail.buyer_email
        await send_email(self._smtp_url, self._message(mail, message_id, pdf, recipient))
        return mail, recipient

    async def _load(self, order_id: str) -> TicketsMail:
        async with self._sessions() as s, s.begin():
            order, event = await orders.with_event(s, order_id)
            if order.status not in PAID:
                raise ApplicationError(
                    f"order {order_id} is {order.status}: its tickets are not to be sent",
                    type="OrderNotPaid",
                    non_retryable=True,
                )
            ticket_count = await s.scalar(
                select(func.count()).where(Ticket.order_id == order_id, Ticket.status == "valid")
            )
            if not ticket_count:
                raise ApplicationError(
                    f"order {order_id} has no valid tickets", type="NoTickets", non_retryable=True
                )
            return TicketsMail(
                order_id=order.id,
                buyer_name=order.buyer_name,
                buyer_email=order.buyer_email,
                event_name=event.name,
                venue=event.venue,
                starts_at=format_starts_at(event.starts_at),
                ticket_count=ticket_count,
                pdf_key=order.tickets_pdf_key or tickets_pdf_key(order.id),
                has_account=order.owner_sub is not None,
                receipt=order_receipt(
                    order.items, order.addons or [], order.total_amount, order.currency
                ),
            )

    def _message(
        self, mail: TicketsMail, message_id: str, pdf: bytes, recipient: str
    ) -> EmailMessage:
        token = None if mail.has_account else order_token(self._order_token_secret, mail.order_id)
        return tickets_message(
            mail,
            tickets_links(self._public_base_url, mail.order_id, token),
            mail_from=self._mail_from,
            recipient=recipient,
            message_id=message_id,
            pdf=pdf,
        )


async def _record(
    session: AsyncSession, message_id: str, order_id: str, kind: str, recipient: str
) -> None:
    """One row per Message-ID: a retried send is counted once."""
    await session.execute(
        insert(Email)
        .values(message_id=message_id, order_id=order_id, kind=kind, recipient=recipient)
        .on_conflict_do_nothing(index_elements=["message_id"])
    )
