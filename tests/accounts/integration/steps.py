"""What the account tests share: a fresh address, the mails sent to it and the link in them, a
buyer signed up or verified, guest orders to join, and a refusal's kind."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.accounts.domain import Account, AccountError, AccountErrorKind
from boxoffice.accounts.service import AccountService
from boxoffice.core.database.models import Event, Order
from boxoffice.devstack.mail_catcher import CaughtMessage
from boxoffice.devstack.services import MailCatcher

BASE = "http://shop.test"
LINK = re.compile(re.escape(BASE) + r"/shop/account/link/([A-Za-z0-9_-]{43})")
PASSWORD = "correct horse battery"


def new_address() -> str:
    return f"buyer-{uuid.uuid4().hex[:12]}@example.com"


def mails_to(mail: MailCatcher, address: str, count: int = 1) -> list[CaughtMessage]:
    """The messages sent to `address`, once there are `count` of them."""
    deadline = time.monotonic() + 10
    while True:
        found = [m for m in mail.messages if address in m.rcpt_tos]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, found
            return found
        time.sleep(0.02)


def text_of(message: CaughtMessage) -> str:
    body = message.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def link_in(message: CaughtMessage) -> str:
    found = LINK.search(text_of(message))
    assert found is not None, text_of(message)
    return found.group(1)


async def signed_up(service: AccountService, mail: MailCatcher, password: str | None) -> str:
    """A new (unverified) account; its address. The verification mail is read off the catcher."""
    address = new_address()
    await service.sign_up(address, "Zoë", password, "en")
    mails_to(mail, address)
    return address


async def verified(service: AccountService, mail: MailCatcher, password: str | None) -> Account:
    address = await signed_up(service, mail, password)
    return await service.use_link(link_in(mails_to(mail, address)[0]))


async def add_orders(
    sessions: async_sessionmaker[AsyncSession], *rows: tuple[str, str | None]
) -> list[str]:
    """An event and one order per (buyer email, owner), created a minute apart; their ids."""
    ids = [f"ord_{uuid.uuid4().hex}" for _ in rows]
    start = datetime.now(UTC) - timedelta(hours=1)
    async with sessions() as s, s.begin():
        event = Event(name="Noite de Choro", venue="Teatro", starts_at=start + timedelta(days=30))
        s.add(event)
        await s.flush()
        s.add_all(
            Order(
                id=order_id,
                event_id=event.id,
                buyer_email=email,
                buyer_name="Zoë",
                items=[],
                total_amount=2500,
                currency="BRL",
                status="completed",
                owner_sub=owner,
                created_at=start + timedelta(minutes=n),
            )
            for n, (order_id, (email, owner)) in enumerate(zip(ids, rows, strict=True))
        )
    return ids


async def owners(sessions: async_sessionmaker[AsyncSession], ids: list[str]) -> list[str | None]:
    async with sessions() as s:
        query = select(Order.id, Order.owner_sub).where(Order.id.in_(ids))
        found = {order_id: owner for order_id, owner in (await s.execute(query)).all()}
    return [found[i] for i in ids]


async def refused(reason: AccountErrorKind, attempt: object) -> AccountError:
    assert asyncio.iscoroutine(attempt)
    with pytest.raises(AccountError) as error:
        await attempt
    assert error.value.reason == reason, error.value.message
    return error.value
