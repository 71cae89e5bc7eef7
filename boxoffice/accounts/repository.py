"""Every query on accounts, their links and sessions. The caller owns the transaction.

A link is consumed by one conditional UPDATE (unused, unexpired: used now), never read and
then written, so two clicks on the same link sign in once. Times come from the database's
clock, the one that UPDATE compares with."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.domain import Account, AccountOrder, LinkPurpose, LinkState
from boxoffice.core.database.models import Account as AccountRow
from boxoffice.core.database.models import Event, Order

_COLUMNS = "id, email, name, email_verified_at IS NOT NULL, password_hash IS NOT NULL"
_INSERT_ACCOUNT = text(
    "INSERT INTO accounts (id, email, name, password_hash) VALUES (:id, :email, :name, :hash)"
    " ON CONFLICT (email) DO NOTHING RETURNING id"
)
_INSERT_LINK = text(
    "INSERT INTO account_links (token_hash, account_id, purpose, expires_at)"
    " VALUES (:hash, :account, :purpose, now() + make_interval(mins => :minutes))"
)
_CONSUME_LINK = text(
    "UPDATE account_links SET used_at = now()"
    " WHERE token_hash = :hash AND used_at IS NULL AND expires_at > now()"
    " RETURNING account_id, purpose"
)
_LINK_STATE = text(
    "SELECT used_at IS NOT NULL, expires_at <= now() FROM account_links WHERE token_hash = :hash"
)
# A password set before the address was verified came from whoever signed up with it; when
# the mailbox's owner verifies through a sign-in link instead, that password must not stay.
_VERIFY = text(
    "UPDATE accounts SET"
    " password_hash = CASE WHEN email_verified_at IS NULL AND :drop_password THEN NULL"
    " ELSE password_hash END,"
    " email_verified_at = COALESCE(email_verified_at, now())"
    f" WHERE id = :id RETURNING {_COLUMNS}"
)
_JOIN_GUEST_ORDERS = text(
    "UPDATE orders SET owner_sub = :subject WHERE owner_sub IS NULL AND lower(buyer_email) = :email"
)
_INSERT_SESSION = text(
    "INSERT INTO account_sessions (token_hash, account_id, expires_at)"
    " VALUES (:hash, :account, now() + make_interval(days => :days))"
)
_SESSION_ACCOUNT = text(
    "SELECT a.id, a.email, a.name, a.email_verified_at IS NOT NULL, a.password_hash IS NOT NULL"
    " FROM account_sessions s JOIN accounts a ON a.id = s.account_id"
    " WHERE s.token_hash = :hash AND s.revoked_at IS NULL AND s.expires_at > now()"
)
_REVOKE_SESSION = text(
    "UPDATE account_sessions SET revoked_at = now() WHERE token_hash = :hash AND revoked_at IS NULL"
)
_REVOKE_OTHER_SESSIONS = text(
    "UPDATE account_sessions SET revoked_at = now()"
    " WHERE account_id = :account AND token_hash <> :keep AND revoked_at IS NULL"
)


def _account(row: Sequence[Any]) -> Account:
    """An account from a row of `_COLUMNS`."""
    return Account(row[0], row[1], row[2], bool(row[3]), bool(row[4]))


def to_account(row: AccountRow) -> Account:
    return Account(
        row.id,
        row.email,
        row.name,
        row.email_verified_at is not None,
        row.password_hash is not None,
    )


async def insert_account(
    session: AsyncSession, email: str, name: str | None, password_hash: str | None
) -> uuid.UUID | None:
    """The new account's id, or None when the address already has one."""
    params = {"id": uuid.uuid4(), "email": email, "name": name, "hash": password_hash}
    return (await session.execute(_INSERT_ACCOUNT, params)).scalar_one_or_none()


async def by_email(session: AsyncSession, email: str) -> AccountRow | None:
    return await session.scalar(select(AccountRow).where(AccountRow.email == email))


async def add_link(
    session: AsyncSession,
    account_id: uuid.UUID,
    token_hash: str,
    purpose: LinkPurpose,
    minutes: int,
) -> None:
    params = {"hash": token_hash, "account": account_id, "purpose": purpose, "minutes": minutes}
    await session.execute(_INSERT_LINK, params)


async def consume_link(
    session: AsyncSession, token_hash: str
) -> tuple[uuid.UUID, LinkPurpose] | None:
    """Mark the link used if it is unused and unexpired; None when it is not (any more)."""
    row = (await session.execute(_CONSUME_LINK, {"hash": token_hash})).one_or_none()
    return None if row is None else (row[0], LinkPurpose(row[1]))


async def link_state(session: AsyncSession, token_hash: str) -> LinkState | None:
    """Used? Expired? None when no link has that hash."""
    row = (await session.execute(_LINK_STATE, {"hash": token_hash})).one_or_none()
    return None if row is None else LinkState(used=bool(row[0]), expired=bool(row[1]))


async def mark_verified(
    session: AsyncSession, account_id: uuid.UUID, *, drop_unverified_password: bool
) -> Account:
    params = {"id": account_id, "drop_password": drop_unverified_password}
    return _account((await session.execute(_VERIFY, params)).one())


async def join_guest_orders(session: AsyncSession, email: str, subject: str) -> int:
    """Give the account the guest orders bought with its (verified) address; how many."""
    result = await session.execute(_JOIN_GUEST_ORDERS, {"subject": subject, "email": email})
    return int(getattr(result, "rowcount", 0))


async def set_password_hash(
    session: AsyncSession, account_id: uuid.UUID, password_hash: str
) -> bool:
    row = await session.get(AccountRow, account_id)
    if row is None:
        return False
    row.password_hash = password_hash
    return True


async def add_session(
    session: AsyncSession, account_id: uuid.UUID, token_hash: str, days: int
) -> None:
    params = {"hash": token_hash, "account": account_id, "days": days}
    await session.execute(_INSERT_SESSION, params)


async def session_account(session: AsyncSession, token_hash: str) -> Account | None:
    row = (await session.execute(_SESSION_ACCOUNT, {"hash": token_hash})).one_or_none()
    return None if row is None else _account(row)


async def revoke_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(_REVOKE_SESSION, {"hash": token_hash})


async def revoke_other_sessions(
    session: AsyncSession, account_id: uuid.UUID, keep_token_hash: str
) -> int:
    """End every session of the account but the one with `keep_token_hash`; how many."""
    params = {"account": account_id, "keep": keep_token_hash}
    result = await session.execute(_REVOKE_OTHER_SESSIONS, params)
    return int(getattr(result, "rowcount", 0))


async def orders_of(session: AsyncSession, subject: str, limit: int) -> Sequence[AccountOrder]:
    """The account's orders, newest first, with their event's name and start."""
    query = (
        select(
            Order.id,
            Event.name,
            Event.starts_at,
            Order.status,
            Order.total_amount,
            Order.currency,
            Order.created_at,
        )
        .join(Event, Event.id == Order.event_id)
        .where(Order.owner_sub == subject)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
    )
    return [AccountOrder(*row) for row in (await session.execute(query)).all()]
