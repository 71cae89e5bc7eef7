"""Issue and store against real Postgres and S3 (moto): each activity run twice has the effect
of running once; tickets are refused to an unpaid order, and keep their codes across a key
rotation."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import Hold
from boxoffice.core.s3 import ensure_bucket, read_object, tickets_pdf_key
from boxoffice.core.settings import Settings
from boxoffice.orders.activities.documents import DocumentActivities
from boxoffice.orders.activities.tickets import TicketActivities
from boxoffice.orders.tickets.codes import TicketSigner, verify_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

from .steps import make_order, order_row, run, ticket_rows

pytestmark = pytest.mark.integration


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
