"""Buyer accounts on the real PostgreSQL and an SMTP catcher: sign up, the link in the mail,
guest orders joined once the address is verified; links used once, before they expire;
passwords; browser sessions."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.accounts.domain import Account, AccountError, AccountErrorKind
from boxoffice.accounts.passwords import Passwords
from boxoffice.accounts.service import AccountService
from boxoffice.accounts.tokens import new_token, token_hash
from boxoffice.core.database.models import Account as AccountRow
from boxoffice.core.database.models import AccountLink, Event, Order
from boxoffice.core.errors import ErrorKind
from boxoffice.core.settings import Settings
from boxoffice.devstack.mail_catcher import CaughtMessage
from boxoffice.devstack.ports import free_port
from boxoffice.devstack.services import MailCatcher

pytestmark = pytest.mark.integration

BASE = "http://shop.test"
LINK = re.compile(re.escape(BASE) + r"/shop/account/link/([A-Za-z0-9_-]{43})")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def service(sessions: async_sessionmaker[AsyncSession], mail: MailCatcher) -> AccountService:
    settings = Settings(
        _env_file=None,
        smtp_url=mail.url,
        public_base_url=BASE,
        mail_from="Boxoffice <tickets@boxoffice.test>",
    )
    # Cheap Argon2 parameters: the same rules, fast on a shared machine.
    hasher = Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1)
    return AccountService(sessions, settings, Passwords(hasher))


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


async def test_sign_up_then_the_mailed_link_verifies_and_joins_guest_orders(
    service: AccountService, mail: MailCatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    address = new_address()
    other = new_address()
    ids = await add_orders(
        sessions,
        (address, None),
        (address.upper(), None),  # same mailbox, other case: joined
        (other, None),  # someone else's
        (address, "sub:someone-else"),  # already owned: left alone
    )
    await service.sign_up(f"  {address.title()} ", "Zoë", PASSWORD, "en")
    message = mails_to(mail, address)[0]
    assert message.subject == "Confirm your email address for Boxoffice"
    assert message.message.get_body(("html",)) is not None
    # Not verified yet: nothing joined, and the password does not sign in.
    assert await owners(sessions, ids) == [None, None, None, "sub:someone-else"]
    await refused(
        AccountErrorKind.EMAIL_NOT_VERIFIED, service.sign_in_with_password(address, PASSWORD)
    )

    account = await service.use_link(link_in(message))

    assert (account.email, account.name, account.email_verified, account.has_password) == (
        address,
        "Zoë",
        True,
        True,
    )
    assert account.subject == f"account:{account.id}"
    subject = account.subject
    assert await owners(sessions, ids) == [subject, subject, None, "sub:someone-else"]
    listed = await service.orders(account)
    assert [o.id for o in listed] == [ids[1], ids[0]]  # newest first
    assert (listed[0].event_name, listed[0].total, listed[0].currency) == (
        "Noite de Choro",
        2500,
        "BRL",
    )
    assert (await service.sign_in_with_password(address, PASSWORD)).id == account.id


async def test_a_link_works_once(service: AccountService, mail: MailCatcher) -> None:
    address = await signed_up(service, mail, None)
    raw = link_in(mails_to(mail, address)[0])
    await service.use_link(raw)
    error = await refused(AccountErrorKind.USED_LINK, service.use_link(raw))
    assert address not in error.message and raw not in error.message


async def test_two_clicks_at_once_sign_in_once(service: AccountService, mail: MailCatcher) -> None:
    address = await signed_up(service, mail, None)
    raw = link_in(mails_to(mail, address)[0])
    results = await asyncio.gather(
        *(service.use_link(raw) for _ in range(5)), return_exceptions=True
    )
    assert sum(isinstance(r, Account) for r in results) == 1
    assert all(
        isinstance(r, Account)
        or (isinstance(r, AccountError) and r.reason == AccountErrorKind.USED_LINK)
        for r in results
    )


async def test_an_expired_link_is_refused(
    service: AccountService, mail: MailCatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    address = await signed_up(service, mail, None)
    raw = link_in(mails_to(mail, address)[0])
    async with sessions() as s, s.begin():
        link = await s.get(AccountLink, token_hash(raw))
        assert link is not None and link.used_at is None
        lifetime = link.expires_at - link.created_at
        assert timedelta(minutes=14) < lifetime <= timedelta(minutes=15, seconds=1)
        await s.execute(
            text(
                "UPDATE account_links SET expires_at = now() - interval '1 second'"
                " WHERE token_hash = :h"
            ),
            {"h": token_hash(raw)},
        )
    error = await refused(AccountErrorKind.EXPIRED_LINK, service.use_link(raw))
    assert "expired" in error.message
    async with sessions() as s:
        row = await s.scalar(select(AccountRow).where(AccountRow.email == address))
    assert row is not None and row.email_verified_at is None


async def test_unknown_and_tampered_links_are_refused(
    service: AccountService, mail: MailCatcher
) -> None:
    address = await signed_up(service, mail, None)
    raw = link_in(mails_to(mail, address)[0])
    flipped = raw[:20] + ("A" if raw[20] != "A" else "B") + raw[21:]
    await refused(AccountErrorKind.INVALID_LINK, service.use_link(flipped))
    await refused(AccountErrorKind.INVALID_LINK, service.use_link(raw[:-1]))
    await refused(AccountErrorKind.INVALID_LINK, service.use_link(raw + "."))
    assert (await service.use_link(raw)).email == address  # the real one still works


async def test_only_hashes_are_stored(
    service: AccountService, mail: MailCatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    address = await signed_up(service, mail, None)
    link = link_in(mails_to(mail, address)[0])
    account = await service.use_link(link)
    cookie = await service.start_session(account.id)
    rows: list[str] = []
    async with sessions() as s:
        for table in ("account_links", "account_sessions"):
            query = text(f"SELECT * FROM {table} WHERE account_id = :id")
            rows += [str(row) for row in (await s.execute(query, {"id": account.id})).all()]
    dump = " ".join(rows)
    assert token_hash(link) in dump and token_hash(cookie) in dump
    assert link not in dump and cookie not in dump


async def test_signing_up_again_mails_a_sign_in_link_and_looks_the_same(
    service: AccountService, mail: MailCatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    account = await verified(service, mail, PASSWORD)
    # Returns nothing and raises nothing, as a new sign-up does.
    await service.sign_up(account.email.upper(), "Mallory", "another password!", "en")
    again = mails_to(mail, account.email, 2)[1]
    assert again.subject == "Your sign-in link for Boxoffice"
    assert "Hello Zoë," in text_of(again)
    async with sessions() as s:
        count = await s.scalar(
            select(func.count()).select_from(AccountRow).where(AccountRow.email == account.email)
        )
    assert count == 1
    # Neither the name nor the password of the second sign-up took.
    await refused(
        AccountErrorKind.BAD_CREDENTIALS,
        service.sign_in_with_password(account.email, "another password!"),
    )
    assert (await service.use_link(link_in(again))).name == "Zoë"


async def test_a_password_chosen_before_verification_goes_when_a_sign_in_link_verifies(
    service: AccountService, mail: MailCatcher
) -> None:
    """Someone signs up with another's address and a password; the owner later signs in by
    link: the squatter's password must not open the owner's account."""
    address = await signed_up(service, mail, "squatter's password")
    await service.send_sign_in_link(address, "en")
    owner = await service.use_link(link_in(mails_to(mail, address, 2)[1]))
    assert owner.email_verified and not owner.has_password
    await refused(
        AccountErrorKind.BAD_CREDENTIALS,
        service.sign_in_with_password(address, "squatter's password"),
    )


async def test_a_sign_in_link_in_portuguese(service: AccountService, mail: MailCatcher) -> None:
    account = await verified(service, mail, None)
    await service.send_sign_in_link(account.email, "pt_BR")
    message = mails_to(mail, account.email, 2)[1]
    assert message.subject == "Seu link de acesso ao Boxoffice"
    assert (await service.use_link(link_in(message))).id == account.id


async def test_a_link_for_an_unknown_address_says_where_to_sign_up(
    service: AccountService, mail: MailCatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    address = new_address()
    await service.send_sign_in_link(address, "en")
    body = text_of(mails_to(mail, address)[0])
    assert f"there is no account for this address; sign up at {BASE}/shop/account/sign-up" in body
    assert not LINK.search(body)
    async with sessions() as s:
        assert await s.scalar(select(AccountRow).where(AccountRow.email == address)) is None


async def test_password_sign_in_right_wrong_unknown_and_none(
    service: AccountService, mail: MailCatcher
) -> None:
    account = await verified(service, mail, PASSWORD)
    assert (
        await service.sign_in_with_password(f" {account.email.upper()}", PASSWORD)
    ).id == account.id
    wrong = await refused(
        AccountErrorKind.BAD_CREDENTIALS,
        service.sign_in_with_password(account.email, PASSWORD + "!"),
    )
    unknown = await refused(
        AccountErrorKind.BAD_CREDENTIALS, service.sign_in_with_password(new_address(), PASSWORD)
    )
    assert wrong.message == unknown.message
    link_only = await verified(service, mail, None)
    await refused(
        AccountErrorKind.BAD_CREDENTIALS, service.sign_in_with_password(link_only.email, PASSWORD)
    )
    await service.set_password(link_only.id, "a new password")
    assert (await service.sign_in_with_password(link_only.email, "a new password")).has_password
    await refused(AccountErrorKind.BAD_PASSWORD, service.set_password(link_only.id, "short"))
    await refused(AccountErrorKind.NO_SUCH_ACCOUNT, service.set_password(uuid.uuid4(), PASSWORD))


async def test_password_sign_in_joins_guest_orders_bought_since(
    service: AccountService, mail: MailCatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Bought as a guest after the link was used (signed out, same address): the next
    password sign-in brings the order in; a wrong password brings nothing."""
    account = await verified(service, mail, PASSWORD)
    ids = await add_orders(sessions, (account.email.upper(), None), (new_address(), None))
    await refused(
        AccountErrorKind.BAD_CREDENTIALS,
        service.sign_in_with_password(account.email, PASSWORD + "!"),
    )
    assert await owners(sessions, ids) == [None, None]
    assert (await service.sign_in_with_password(account.email, PASSWORD)).id == account.id
    assert await owners(sessions, ids) == [account.subject, None]
    assert [o.id for o in await service.orders(account)] == [ids[0]]


async def test_a_short_password_at_sign_up_is_refused_before_anything(
    service: AccountService, mail: MailCatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    address = new_address()
    await refused(AccountErrorKind.BAD_PASSWORD, service.sign_up(address, None, "short", "en"))
    await refused(AccountErrorKind.BAD_EMAIL, service.sign_up("not an address", None, None, "en"))
    async with sessions() as s:
        assert await s.scalar(select(AccountRow).where(AccountRow.email == address)) is None
    assert not [m for m in mail.messages if address in m.rcpt_tos]


async def test_sessions_start_look_up_expire_and_end(
    service: AccountService, mail: MailCatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    account = await verified(service, mail, None)
    first, second = await service.start_session(account.id), await service.start_session(account.id)
    assert first != second
    found = await service.session_account(first)
    assert found is not None and found.id == account.id and found.email_verified
    await service.end_session(first)
    assert await service.session_account(first) is None
    assert await service.session_account(second) is not None  # other browsers stay signed in
    async with sessions() as s, s.begin():
        await s.execute(
            text("UPDATE account_sessions SET expires_at = now() WHERE token_hash = :h"),
            {"h": token_hash(second)},
        )
    assert await service.session_account(second) is None
    assert await service.session_account(new_token()[0]) is None
    await refused(AccountErrorKind.NO_SUCH_ACCOUNT, service.start_session(uuid.uuid4()))


async def test_setting_a_password_ends_the_other_sessions(
    service: AccountService, mail: MailCatcher
) -> None:
    account = await verified(service, mail, None)
    other = await verified(service, mail, None)
    here = await service.start_session(account.id)
    there = await service.start_session(account.id)
    elsewhere = await service.start_session(other.id)
    await service.set_password(account.id, PASSWORD)  # no session named: all kept
    assert await service.session_account(there) is not None
    await service.set_password(account.id, "a new password", keep_session=here)
    assert await service.session_account(there) is None
    kept = await service.session_account(here)
    assert kept is not None and kept.id == account.id and kept.has_password
    assert await service.session_account(elsewhere) is not None  # another account's


async def test_a_mail_server_away_is_unavailable_not_a_crash(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    away = Settings(_env_file=None, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    offline = AccountService(sessions, away, Passwords(Argon2Hasher(memory_cost=1024)))
    error = await refused(
        AccountErrorKind.MAIL_UNAVAILABLE, offline.send_sign_in_link(new_address(), "en")
    )
    assert error.kind == ErrorKind.UNAVAILABLE
