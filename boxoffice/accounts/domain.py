"""The rules of a buyer account, in one place: what the login identity is, what a password
must be, the subject an account's orders are owned by, and the kinds of refusal.

Pure code: no I/O, no clock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from boxoffice.core.errors import DomainError, ErrorKind

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 320
NAME_MAX_LENGTH = 200
#: Prefix of an account's subject (`Order.owner_sub`), apart from tokens' subjects.
SUBJECT_PREFIX = "account:"


class LinkPurpose(StrEnum):
    #: Mailed at sign-up: the one who signed up chose the password (if any) with it.
    VERIFY = "verify"
    #: Mailed on request, or on a sign-up for an address that already has an account.
    SIGN_IN = "sign_in"


class AccountErrorKind(StrEnum):
    """Why, for the pages' wording; `AccountError.kind` is the `ErrorKind` adapters map."""

    INVALID_LINK = "invalid_link"
    EXPIRED_LINK = "expired_link"
    USED_LINK = "used_link"
    BAD_CREDENTIALS = "bad_credentials"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    BAD_PASSWORD = "bad_password"
    BAD_EMAIL = "bad_email"
    NO_SUCH_ACCOUNT = "no_such_account"
    MAIL_UNAVAILABLE = "mail_unavailable"


_ERROR_KIND: dict[AccountErrorKind, ErrorKind] = {
    AccountErrorKind.INVALID_LINK: ErrorKind.INVALID,
    AccountErrorKind.EXPIRED_LINK: ErrorKind.REFUSED,
    AccountErrorKind.USED_LINK: ErrorKind.REFUSED,
    AccountErrorKind.BAD_CREDENTIALS: ErrorKind.REFUSED,
    AccountErrorKind.EMAIL_NOT_VERIFIED: ErrorKind.REFUSED,
    AccountErrorKind.BAD_PASSWORD: ErrorKind.INVALID,
    AccountErrorKind.BAD_EMAIL: ErrorKind.INVALID,
    AccountErrorKind.NO_SUCH_ACCOUNT: ErrorKind.NOT_FOUND,
    AccountErrorKind.MAIL_UNAVAILABLE: ErrorKind.UNAVAILABLE,
}


class AccountError(DomainError):
    """An account use case that cannot be done: `reason` says which rule refused it, `kind`
    (from it) is what the adapters map; never an HTTP status."""

    def __init__(self, reason: AccountErrorKind, message: str) -> None:
        super().__init__(_ERROR_KIND[reason], message)
        self.reason = reason


@dataclass(frozen=True)
class LinkState:
    """What the table says of a link that could not be consumed."""

    used: bool
    expired: bool


def refused_link(state: LinkState | None, minutes: int) -> AccountError:
    """Why a link does not sign in: not one we sent (None), already used, or expired. The
    message names neither the account nor the address."""
    if state is None:
        return AccountError(
            AccountErrorKind.INVALID_LINK, "This link is not valid. Ask for a new one."
        )
    if state.used or not state.expired:
        # Unused and unexpired yet not consumed: another click consumed it a moment ago.
        return AccountError(
            AccountErrorKind.USED_LINK,
            "This link was already used: each link works once. Ask for a new one.",
        )
    return AccountError(
        AccountErrorKind.EXPIRED_LINK,
        f"This link has expired: links work for {minutes} minutes. Ask for a new one.",
    )


def malformed_link() -> AccountError:
    """A link cut short or altered on its way (`tokens.well_formed` said no)."""
    return AccountError(
        AccountErrorKind.INVALID_LINK,
        "This link is incomplete or was altered. Open it from the email again, "
        "or ask for a new one.",
    )


def account_subject(account_id: uuid.UUID) -> str:
    """Who an account's orders belong to (`Order.owner_sub`)."""
    return f"{SUBJECT_PREFIX}{account_id}"


def normalized_email(email: str) -> str:
    """The login identity: trimmed and lower-case, so `Zoe@Example.com ` is `zoe@example.com`."""
    return email.strip().lower()


def checked_email(email: str) -> str:
    """The normalised address, or BAD_EMAIL when it cannot be one (the pages validate the form
    first; this keeps the service from storing what it could never mail)."""
    address = normalized_email(email)
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or len(address) > EMAIL_MAX_LENGTH
        or any(c.isspace() or ord(c) < 32 for c in address)
    ):
        raise AccountError(AccountErrorKind.BAD_EMAIL, "Enter a valid email address.")
    return address


def check_password(password: str) -> None:
    """A password is long enough to resist guessing and short enough to hash cheaply."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(
            AccountErrorKind.BAD_PASSWORD,
            f"Choose a password of at least {PASSWORD_MIN_LENGTH} characters.",
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise AccountError(
            AccountErrorKind.BAD_PASSWORD,
            f"Choose a password of at most {PASSWORD_MAX_LENGTH} characters.",
        )


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    email: str
    name: str | None
    email_verified: bool
    has_password: bool

    @property
    def subject(self) -> str:
        return account_subject(self.id)


@dataclass(frozen=True)
class AccountOrder:
    """One line of "my orders"."""

    id: str
    event_name: str
    starts_at: datetime
    status: str
    total: int
    currency: str
    created_at: datetime
