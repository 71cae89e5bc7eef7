"""AccountService: what a buyer does with an account, for the storefront's pages. It raises
`AccountError` (never an HTTP status) and answers the same whether an address has an account
or not wherever a stranger could otherwise learn it (sign-up, link requests, passwords)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.accounts import mail, repository
from boxoffice.accounts.domain import (
    NAME_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    Account,
    AccountError,
    AccountErrorKind,
    AccountOrder,
    LinkPurpose,
    account_subject,
    check_password,
    checked_email,
    malformed_link,
    normalized_email,
    refused_link,
)
from boxoffice.accounts.passwords import Passwords
from boxoffice.accounts.tokens import new_token, token_hash, well_formed
from boxoffice.core.mail import mask_email, one_line, send_email
from boxoffice.core.settings import Settings

log = logging.getLogger("boxoffice.accounts")

#: At most this many orders in "my orders".
ORDERS_SHOWN = 200


class AccountService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        passwords: Passwords | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._passwords = passwords or Passwords()

    async def sign_up(
        self, email: str, name: str | None, password: str | None, locale: str
    ) -> None:
        """Create the account when the address has none (unverified) and mail a verification
        link; when it has one, mail a sign-in link instead. Same answer, about the same time."""
        address = checked_email(email)
        name = (one_line(name)[:NAME_MAX_LENGTH] or None) if name else None
        password_hash = None
        if password is not None:
            check_password(password)
            # Hashed for an existing account too (and thrown away): both take as long.
            password_hash = await self._passwords.hash(password)
        raw, hashed = new_token()
        async with self._sessions() as session, session.begin():
            account_id = await repository.insert_account(session, address, name, password_hash)
            purpose = LinkPurpose.VERIFY
            if account_id is None:
                existing = await repository.by_email(session, address)
                assert existing is not None  # accounts are never deleted
                account_id, name, purpose = existing.id, existing.name, LinkPurpose.SIGN_IN
            minutes = self._settings.account_link_minutes
            await repository.add_link(session, account_id, hashed, purpose, minutes)
        build = mail.verify_message if purpose == LinkPurpose.VERIFY else mail.sign_in_message
        await self._send(
            build(self._settings.mail_from, address, name, self._link_url(raw), minutes, locale),
            f"{purpose} link",
        )

    async def send_sign_in_link(self, email: str, locale: str) -> None:
        """Mail a sign-in link when the address has an account; otherwise mail it that there
        is none and where to sign up. Either way one email to that address, nothing else."""
        address = checked_email(email)
        raw, hashed = new_token()
        minutes = self._settings.account_link_minutes
        async with self._sessions() as session, session.begin():
            account = await repository.by_email(session, address)
            if account is not None:
                await repository.add_link(session, account.id, hashed, LinkPurpose.SIGN_IN, minutes)
        if account is None:
            sign_up_url = f"{self._base_url}/shop/account/sign-up"
            message = mail.no_account_message(
                self._settings.mail_from, address, sign_up_url, locale
            )
            await self._send(message, "no-account notice")
        else:
            message = mail.sign_in_message(
                self._settings.mail_from,
                address,
                account.name,
                self._link_url(raw),
                minutes,
                locale,
            )
            await self._send(message, "sign_in link")

    async def use_link(self, raw: str) -> Account:
        """Consume an emailed link (once, before it expires): the address is verified and the
        guest orders bought with it join the account."""
        if not well_formed(raw):
            raise malformed_link()
        hashed = token_hash(raw)
        async with self._sessions() as session, session.begin():
            consumed = await repository.consume_link(session, hashed)
            if consumed is None:
                state = await repository.link_state(session, hashed)
                raise refused_link(state, self._settings.account_link_minutes)
            account_id, purpose = consumed
            account = await repository.mark_verified(
                session, account_id, drop_unverified_password=purpose == LinkPurpose.SIGN_IN
            )
            joined = await repository.join_guest_orders(session, account.email, account.subject)
        log.info(
            "account %s signed in by a %s link (%s); %d guest orders joined",
            account.id,
            purpose,
            mask_email(account.email),
            joined,
        )
        return account

    async def sign_in_with_password(self, email: str, password: str) -> Account:
        """The account, or BAD_CREDENTIALS alike for an unknown address, an account without a
        password and a wrong one (each checks one Argon2 hash). Guest orders bought with the
        address since the account was verified join it here too, as a link would join them."""
        wrong = AccountError(AccountErrorKind.BAD_CREDENTIALS, "Wrong email or password.")
        if not password or len(password) > PASSWORD_MAX_LENGTH:
            raise wrong
        async with self._sessions() as session:
            row = await repository.by_email(session, normalized_email(email))
        checked = await self._passwords.verify(password, row.password_hash if row else None)
        if row is None or not checked.ok:
            raise wrong
        if row.email_verified_at is None:
            raise AccountError(
                AccountErrorKind.EMAIL_NOT_VERIFIED,
                "Confirm your email address first: open the link we sent you, "
                "or ask for a new one.",
            )
        account = repository.to_account(row)
        async with self._sessions() as session, session.begin():
            if checked.rehashed is not None:
                await repository.set_password_hash(session, row.id, checked.rehashed)
            joined = await repository.join_guest_orders(session, account.email, account.subject)
        if joined:
            log.info("account %s signed in by password; %d guest orders joined", account.id, joined)
        return account

    async def set_password(
        self, account_id: uuid.UUID, password: str, *, keep_session: str | None = None
    ) -> None:
        """Set or change the password. Given the raw cookie of the session doing it, every
        other session of the account ends: whoever else was signed in (a stolen session, a
        shared computer) must sign in again."""
        check_password(password)
        password_hash = await self._passwords.hash(password)
        async with self._sessions() as session, session.begin():
            if not await repository.set_password_hash(session, account_id, password_hash):
                raise _no_such_account()
            if keep_session is not None:
                ended = await repository.revoke_other_sessions(
                    session, account_id, token_hash(keep_session)
                )
                log.info("account %s set its password; %d other sessions ended", account_id, ended)

    async def start_session(self, account_id: uuid.UUID) -> str:
        """A new signed-in session; the raw value is the cookie, only its hash is kept."""
        raw, hashed = new_token()
        days = self._settings.account_session_days
        try:
            async with self._sessions() as session, session.begin():
                await repository.add_session(session, account_id, hashed, days)
        except IntegrityError:
            raise _no_such_account() from None
        return raw

    async def session_account(self, raw: str | None) -> Account | None:
        """The signed-in account, or None (no cookie, a mangled one, expired, signed out)."""
        if raw is None or not well_formed(raw):
            return None
        async with self._sessions() as session:
            return await repository.session_account(session, token_hash(raw))

    async def end_session(self, raw: str) -> None:
        if not well_formed(raw):
            return
        async with self._sessions() as session, session.begin():
            await repository.revoke_session(session, token_hash(raw))

    async def orders(self, account: Account) -> list[AccountOrder]:
        """The account's orders, newest first."""
        async with self._sessions() as session:
            found: Sequence[AccountOrder] = await repository.orders_of(
                session, account_subject(account.id), ORDERS_SHOWN
            )
        return list(found)

    @property
    def _base_url(self) -> str:
        return self._settings.public_base_url.rstrip("/")

    def _link_url(self, raw: str) -> str:
        return f"{self._base_url}/shop/account/link/{raw}"

    async def _send(self, message: EmailMessage, what: str) -> None:
        """Send one account email; the log names what and to whom (masked), never the link."""
        to = str(message["To"].addresses[0].addr_spec)
        try:
            await send_email(self._settings.smtp_url, message)
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning("account %s to %s not sent: %s", what, mask_email(to), type(error).__name__)
            raise AccountError(
                AccountErrorKind.MAIL_UNAVAILABLE,
                "We could not send the email just now. Please try again in a moment.",
            ) from None
        log.info("account %s sent to %s", what, mask_email(to))


def _no_such_account() -> AccountError:
    return AccountError(AccountErrorKind.NO_SUCH_ACCOUNT, "No such account.")
