"""Passwords and browser sessions on the real PostgreSQL: signing in right, wrong, unknown or
without a password, guest orders joined at sign-in, sessions that start, expire and end, and a
mail server away answered as unavailable. Sign-up links: `test_sign_up_links.py`."""

from __future__ import annotations

import uuid

import pytest
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.accounts.domain import AccountErrorKind
from boxoffice.accounts.passwords import Passwords
from boxoffice.accounts.service import AccountService
from boxoffice.accounts.tokens import new_token, token_hash
from boxoffice.core.database.models import Account as AccountRow
from boxoffice.core.errors import ErrorKind
from boxoffice.core.settings import Settings
from boxoffice.devstack.ports import free_port
from boxoffice.devstack.services import MailCatcher

from .steps import (
    PASSWORD,
    add_orders,
    new_address,
    owners,
    refused,
    verified,
)

pytestmark = pytest.mark.integration


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
