"""Issue, store, email and void against real Postgres, S3 (moto) and SMTP: each activity run
twice has the effect of running once."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from boxoffice.auth.order_tokens import order_token
from boxoffice.core.database.models import Email, Event, Hold, Order, Ticket, TicketType
from boxoffice.core.s3 import ensure_bucket, read_object, tickets_pdf_key
from boxoffice.core.settings import Settings
from boxoffice.devstack.services import MailCatcher
from boxoffice.orders.activities.documents import DocumentActivities, RecentPdfs
from boxoffice.orders.activities.email import EmailActivities, tickets_message_id
from boxoffice.orders.activities.tickets import TicketActivities
from boxoffice.orders.messages import OrderRef
from boxoffice.orders.tickets.codes import TicketSigner, verify_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

T = TypeVar("T")
PUBLIC_BASE_URL = "http://tickets.test"


@pytest.fixture(scope="module")
def signer() -> TicketSigner:
    return TicketSigner(Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def tickets(sessions: async_sessionmaker[AsyncSession], signer: TicketSigner) -> TicketActivities:
    return TicketActivities(sessions, signer)


@pytest.fixture(scope="module")
def storage(
    sessions: async_sessionmaker[AsyncSession], s3_client: S3Client, s3_settings: Settings
) -> DocumentActivities:
    return DocumentActivities(sessions, s3_client, s3_settings.s3_bucket)


@pytest.fixture(scope="module")
def emails(
    sessions: async_sessionmaker[AsyncSession],
    s3_client: S3Client,
    s3_settings: Settings,
    mail: MailCatcher,
) -> EmailActivities:
    return EmailActivities(
        sessions,
        s3_client,
        s3_settings.s3_bucket,
        mail.url,
        "Boxoffice <tickets@boxoffice.test>",
        PUBLIC_BASE_URL,
        b"order-token-secret-for-tests",
    )


async def run(activity: Callable[[OrderRef], Awaitable[T]], order_id: str) -> T:
    return await ActivityEnvironment().run(activity, OrderRef(order_id=order_id))


async def make_order(
    sessions: async_sessionmaker[AsyncSession],
    *,
    status: str = "paid",
    quantities: tuple[int, ...] = (2, 1),
) -> Order:
    """An event with one ticket type per quantity, and an order holding those seats."""
    order_id = f"ord_{uuid.uuid4().hex}"
    async with sessions() as s, s.begin():
        event = Event(
            name="Zoë Ñandú & the 李 Quartet",
            venue="Kulturhalle Süd",
            starts_at=datetime(2026, 9, 12, 19, 30, tzinfo=UTC),
        )
        s.add(event)
        await s.flush()
        types = [
            TicketType(
                event_id=event.id,
                name=f"Type {n}",
                price=1000 * (n + 1),
                currency="EUR",
                capacity=100,
                available=100 - quantity,
            )
            for n, quantity in enumerate(quantities)
        ]
        s.add_all(types)
        await s.flush()
        total = sum(t.price * q for t, q in zip(types, quantities, strict=True))
        order = Order(
            id=order_id,
            event_id=event.id,
            buyer_email="zoe@example.com",
            buyer_name="Zoë Ñandú",
            items=[
                {"ticket_type_id": str(t.id), "quantity": q}
                for t, q in zip(types, quantities, strict=True)
            ],
            total_amount=total,
            currency="EUR",
            status=status,
        )
        s.add(order)
        await s.flush()
        s.add_all(
            Hold(order_id=order_id, ticket_type_id=t.id, quantity=q, unit_price=t.price)
            for t, q in zip(types, quantities, strict=True)
        )
    return order


async def ticket_rows(sessions: async_sessionmaker[AsyncSession], order_id: str) -> list[Ticket]:
    async with sessions() as s:
        return list(
            (
                await s.scalars(
                    select(Ticket).where(Ticket.order_id == order_id).order_by(Ticket.position)
                )
            ).all()
        )


async def order_row(sessions: async_sessionmaker[AsyncSession], order_id: str) -> Order:
    async with sessions() as s:
        order = await s.get(Order, order_id)
        assert order is not None
        return order


# --------------------------------------------------------------------------- issue


async def test_issue_twice_gives_the_same_tickets(
    sessions: async_sessionmaker[AsyncSession], tickets: TicketActivities, signer: TicketSigner
) -> None:
    order = await make_order(sessions, quantities=(2, 1))
    first = await run(tickets.issue_tickets, order.id)
    second = await run(tickets.issue_tickets, order.id)

    assert first == second
    assert [t.position for t in first.tickets] == [0, 1, 2]
    assert len({t.ticket_id for t in first.tickets}) == 3
    rows = await ticket_rows(sessions, order.id)
    assert [str(r.id) for r in rows] == [t.ticket_id for t in first.tickets]
    assert {r.status for r in rows} == {"valid"}
    # Positions follow the holds in ticket type id order.
    async with sessions() as s:
        holds = (
            await s.scalars(
                select(Hold).where(Hold.order_id == order.id).order_by(Hold.ticket_type_id)
            )
        ).all()
    expected_types = [str(h.ticket_type_id) for h in holds for _ in range(h.quantity)]
    assert [t.ticket_type_id for t in first.tickets] == expected_types
    for ticket in first.tickets:
        verified = verify_code(ticket.code, signer.public_keys())
        assert verified is not None
        assert (str(verified.ticket_id), verified.event_id) == (ticket.ticket_id, order.event_id)


async def test_issue_keeps_codes_after_key_rotation(
    sessions: async_sessionmaker[AsyncSession], tickets: TicketActivities
) -> None:
    order = await make_order(sessions, quantities=(1,))
    first = await run(tickets.issue_tickets, order.id)
    rotated = TicketActivities(sessions, TicketSigner(Ed25519PrivateKey.generate()))
    assert await run(rotated.issue_tickets, order.id) == first


@pytest.mark.parametrize("status", ["reserved", "paying", "expired", "refunded"])
async def test_issue_refuses_an_unpaid_order(
    sessions: async_sessionmaker[AsyncSession], tickets: TicketActivities, status: str
) -> None:
    order = await make_order(sessions, status=status)
    with pytest.raises(ApplicationError) as refused:
        await run(tickets.issue_tickets, order.id)
    assert refused.value.type == "OrderNotPaid"
    assert refused.value.non_retryable
    assert await ticket_rows(sessions, order.id) == []


async def test_concurrent_issues_write_one_set(
    sessions: async_sessionmaker[AsyncSession], tickets: TicketActivities
) -> None:
    order = await make_order(sessions, quantities=(3, 2))
    results = await asyncio.gather(*(run(tickets.issue_tickets, order.id) for _ in range(4)))
    assert all(r == results[0] for r in results)
    assert len(await ticket_rows(sessions, order.id)) == 5


# --------------------------------------------------------------------------- store


def test_bucket_creation_is_idempotent_and_missing_objects_read_as_none(
    s3_client: S3Client, s3_settings: Settings
) -> None:
    ensure_bucket(s3_client, s3_settings.s3_bucket)
    ensure_bucket(s3_client, s3_settings.s3_bucket)
    assert read_object(s3_client, s3_settings.s3_bucket, tickets_pdf_key("no-such-order")) is None


async def test_store_puts_the_pdf_at_the_fixed_key(
    sessions: async_sessionmaker[AsyncSession],
    tickets: TicketActivities,
    storage: DocumentActivities,
    s3_client: S3Client,
    s3_settings: Settings,
) -> None:
    order = await make_order(sessions, quantities=(2, 1))
    await run(tickets.issue_tickets, order.id)
    first = await run(storage.store_tickets_pdf, order.id)
    second = await run(storage.store_tickets_pdf, order.id)

    assert first.key == second.key == tickets_pdf_key(order.id) == f"orders/{order.id}/tickets.pdf"
    pdf = read_object(s3_client, s3_settings.s3_bucket, first.key)
    assert pdf is not None and pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == 3
    head = s3_client.head_object(Bucket=s3_settings.s3_bucket, Key=first.key)
    assert head["ContentType"] == "application/pdf"
    listed = s3_client.list_objects_v2(Bucket=s3_settings.s3_bucket, Prefix=f"orders/{order.id}/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [first.key]
    assert (await order_row(sessions, order.id)).tickets_pdf_key == first.key


async def test_store_refuses_an_order_without_tickets(
    sessions: async_sessionmaker[AsyncSession], storage: DocumentActivities
) -> None:
    order = await make_order(sessions)
    with pytest.raises(ApplicationError) as refused:
        await run(storage.store_tickets_pdf, order.id)
    assert refused.value.type == "NoTickets"
    assert refused.value.non_retryable


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
