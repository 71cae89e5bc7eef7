"""Email and void against real Postgres, S3 (moto) and SMTP: one message per order however often
it is sent, and tickets voided once, never issued after a void, refused once one was used."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from boxoffice.auth.order_tokens import order_token
from boxoffice.core.database.models import Email, Ticket
from boxoffice.core.s3 import read_object, tickets_pdf_key
from boxoffice.core.settings import Settings
from boxoffice.devstack.services import MailCatcher
from boxoffice.orders.activities.documents import DocumentActivities, RecentPdfs
from boxoffice.orders.activities.email import EmailActivities, tickets_message_id
from boxoffice.orders.activities.tickets import TicketActivities

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

from .steps import PUBLIC_BASE_URL, make_order, order_row, run, ticket_rows

pytestmark = pytest.mark.integration


# --------------------------------------------------------------------------- email


async def test_email_twice_delivers_one_message_id_and_one_record(
    sessions: async_sessionmaker[AsyncSession],
    tickets: TicketActivities,
    storage: DocumentActivities,
    emails: EmailActivities,
    mail: MailCatcher,
) -> None:
    order = await make_order(sessions, quantities=(2, 1))
    await run(tickets.issue_tickets, order.id)
    stored = await run(storage.store_tickets_pdf, order.id)
    first = await run(emails.email_tickets, order.id)
    second = await run(emails.email_tickets, order.id)

    message_id = tickets_message_id(order.id)
    assert first == second
    assert (first.message_id, first.recipient) == (message_id, "zoe@example.com")
    assert message_id == f"<tickets.{order.id}@boxoffice>"
    delivered = [m for m in mail.messages if m.message_id == message_id]
    assert len(delivered) == 2
    message = delivered[0].message
    assert delivered[0].rcpt_tos == ("zoe@example.com",)
    assert "Zoë Ñandú" in str(message["To"])
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "3 tickets" in text
    assert f"{PUBLIC_BASE_URL}/orders/{order.id}/tickets.pdf" in text
    token = order_token(b"order-token-secret-for-tests", order.id)
    page = f"{PUBLIC_BASE_URL}/shop/orders/{order.id}?token={token}"
    assert f"See your order: {page}" in text
    html = message.get_body(preferencelist=("html",))
    assert html is not None and f'href="{page}"' in html.get_content()
    attachments = list(message.iter_attachments())
    assert [a.get_content_type() for a in attachments] == ["application/pdf"]
    assert attachments[0].get_content().startswith(b"%PDF-")
    assert stored.key

    async with sessions() as s:
        records = (await s.scalars(select(Email).where(Email.order_id == order.id))).all()
    assert [(r.message_id, r.kind, r.recipient) for r in records] == [
        (message_id, "tickets", "zoe@example.com")
    ]
    assert (await order_row(sessions, order.id)).status == "completed"


async def test_email_completes_an_order_that_needed_attention(
    sessions: async_sessionmaker[AsyncSession],
    tickets: TicketActivities,
    storage: DocumentActivities,
    emails: EmailActivities,
) -> None:
    order = await make_order(sessions, quantities=(1,), status="needs_attention")
    await run(tickets.issue_tickets, order.id)
    await run(storage.store_tickets_pdf, order.id)
    await run(emails.email_tickets, order.id)
    assert (await order_row(sessions, order.id)).status == "completed"


async def test_email_without_a_stored_pdf_is_retried(
    sessions: async_sessionmaker[AsyncSession],
    tickets: TicketActivities,
    emails: EmailActivities,
    mail: MailCatcher,
) -> None:
    order = await make_order(sessions, quantities=(1,))
    await run(tickets.issue_tickets, order.id)
    with pytest.raises(ApplicationError) as refused:
        await run(emails.email_tickets, order.id)
    assert refused.value.type == "PdfMissing"
    assert not refused.value.non_retryable
    assert not [m for m in mail.messages if m.message_id == tickets_message_id(order.id)]
    assert (await order_row(sessions, order.id)).status == "paid"


async def test_email_attaches_the_pdf_this_process_just_stored_once(
    sessions: async_sessionmaker[AsyncSession],
    s3_client: S3Client,
    s3_settings: Settings,
    tickets: TicketActivities,
    emails: EmailActivities,
    mail: MailCatcher,
) -> None:
    """The email right after the store attaches the stored bytes without reading S3 back; its
    retry reads S3 (here emptied: so it is refused as a missing PDF would be)."""
    recent = RecentPdfs()
    storage = DocumentActivities(sessions, s3_client, s3_settings.s3_bucket, recent)
    sending = EmailActivities(
        sessions,
        s3_client,
        s3_settings.s3_bucket,
        mail.url,
        "Boxoffice <tickets@boxoffice.test>",
        PUBLIC_BASE_URL,
        b"order-token-secret-for-tests",
        recent,
    )
    order = await make_order(sessions, quantities=(1,))
    await run(tickets.issue_tickets, order.id)
    await run(storage.store_tickets_pdf, order.id)
    stored = read_object(s3_client, s3_settings.s3_bucket, tickets_pdf_key(order.id))
    s3_client.delete_object(Bucket=s3_settings.s3_bucket, Key=tickets_pdf_key(order.id))

    await run(sending.email_tickets, order.id)
    [delivered] = [m for m in mail.messages if m.message_id == tickets_message_id(order.id)]
    [attachment] = list(delivered.message.iter_attachments())
    assert attachment.get_content() == stored
    with pytest.raises(ApplicationError) as refused:
        await run(sending.email_tickets, order.id)
    assert refused.value.type == "PdfMissing"


# --------------------------------------------------------------------------- void


async def test_void_voids_every_ticket_once(
    sessions: async_sessionmaker[AsyncSession], tickets: TicketActivities
) -> None:
    order = await make_order(sessions, quantities=(2, 1))
    await run(tickets.issue_tickets, order.id)
    assert (await run(tickets.void_tickets, order.id)).changed is True
    assert {t.status for t in await ticket_rows(sessions, order.id)} == {"void"}
    assert (await run(tickets.void_tickets, order.id)).changed is False


async def test_no_ticket_is_issued_after_a_void(
    sessions: async_sessionmaker[AsyncSession], tickets: TicketActivities
) -> None:
    """An issue attempt that outlived its timeout while support refunded the order (its
    tickets voided before it committed) must not bring valid tickets back."""
    order = await make_order(sessions)
    assert (await run(tickets.void_tickets, order.id)).changed is False  # none issued yet
    with pytest.raises(ApplicationError) as refused:
        await run(tickets.issue_tickets, order.id)
    assert refused.value.type == "TicketsVoided"
    assert refused.value.non_retryable
    assert await ticket_rows(sessions, order.id) == []
    assert (await order_row(sessions, order.id)).tickets_voided_at is not None


async def test_concurrent_issue_and_void_leave_no_valid_ticket(
    sessions: async_sessionmaker[AsyncSession], tickets: TicketActivities
) -> None:
    orders = [await make_order(sessions, quantities=(2,)) for _ in range(8)]
    outcomes = await asyncio.gather(
        *(
            step
            for order in orders
            for step in (
                run(tickets.issue_tickets, order.id),
                run(tickets.void_tickets, order.id),
            )
        ),
        return_exceptions=True,
    )
    for outcome in outcomes:  # issue either ran first (then voided) or was refused
        assert not isinstance(outcome, Exception) or (
            isinstance(outcome, ApplicationError) and outcome.type == "TicketsVoided"
        ), outcome
    for order in orders:
        assert "valid" not in {t.status for t in await ticket_rows(sessions, order.id)}


async def test_void_refuses_when_a_ticket_was_used(
    sessions: async_sessionmaker[AsyncSession], tickets: TicketActivities
) -> None:
    order = await make_order(sessions, quantities=(2, 1))
    issued = await run(tickets.issue_tickets, order.id)
    async with sessions() as s, s.begin():
        await s.execute(
            update(Ticket)
            .where(Ticket.id == uuid.UUID(issued.tickets[1].ticket_id))
            .values(checked_in_at=func.now())
        )
    with pytest.raises(ApplicationError) as refused:
        await run(tickets.void_tickets, order.id)
    assert refused.value.type == "TicketCheckedIn"
    assert refused.value.non_retryable
    assert [t.status for t in await ticket_rows(sessions, order.id)] == ["valid"] * 3
    assert (await order_row(sessions, order.id)).tickets_voided_at is None  # rolled back
