"""Signing up on the real PostgreSQL and an SMTP catcher: the link in the mail verifies the
address and joins the guest orders bought under it; links work once, before they expire, and
only their hashes are stored; signing up again looks the same to anyone asking."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.accounts.domain import Account, AccountError, AccountErrorKind
from boxoffice.accounts.service import AccountService
from boxoffice.accounts.tokens import token_hash
from boxoffice.core.database.models import Account as AccountRow
from boxoffice.core.database.models import AccountLink
from boxoffice.devstack.services import MailCatcher

from .steps import (
    BASE,
    LINK,
    PASSWORD,
    add_orders,
    link_in,
    mails_to,
    new_address,
    owners,
    refused,
    signed_up,
    text_of,
    verified,
)

pytestmark = pytest.mark.integration


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
