"""Raw tokens and their hashes, and why a link is refused: unknown, tampered, expired, used,
each with its own reason and a message that names no account."""

from __future__ import annotations

import hashlib
from typing import Any, NoReturn

import pytest

from boxoffice.accounts.domain import (
    AccountError,
    AccountErrorKind,
    LinkState,
    malformed_link,
    refused_link,
)
from boxoffice.accounts.service import AccountService
from boxoffice.accounts.tokens import new_token, token_hash, well_formed
from boxoffice.core.errors import ErrorKind
from boxoffice.core.settings import Settings


def test_a_new_token_is_stored_only_as_its_sha256() -> None:
    raw, hashed = new_token()
    assert hashed == hashlib.sha256(raw.encode()).hexdigest() == token_hash(raw)
    assert raw not in hashed and len(hashed) == 64
    assert well_formed(raw)


def test_tokens_never_repeat() -> None:
    assert len({new_token()[0] for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1],  # cut short (a line break in a mail client)
        lambda raw: raw + "=",  # padded
        lambda raw: raw + "x",  # too long
        lambda raw: raw[:10] + "!" + raw[11:],  # out of the alphabet
        lambda raw: raw[:10] + " " + raw[11:],
        lambda raw: "",
    ],
)
def test_a_tampered_token_is_not_well_formed(mangle: Any) -> None:
    raw, _ = new_token()
    assert not well_formed(mangle(raw))


def test_each_refusal_has_its_own_reason_and_message() -> None:
    refusals = {
        "unknown": refused_link(None, 15),
        "tampered": malformed_link(),
        "expired": refused_link(LinkState(used=False, expired=True), 15),
        "used": refused_link(LinkState(used=True, expired=False), 15),
        "used and expired": refused_link(LinkState(used=True, expired=True), 15),
        # Unused, unexpired, yet not consumed: a concurrent click consumed it.
        "raced": refused_link(LinkState(used=False, expired=False), 15),
    }
    reasons = {name: error.reason for name, error in refusals.items()}
    assert reasons == {
        "unknown": AccountErrorKind.INVALID_LINK,
        "tampered": AccountErrorKind.INVALID_LINK,
        "expired": AccountErrorKind.EXPIRED_LINK,
        "used": AccountErrorKind.USED_LINK,
        "used and expired": AccountErrorKind.USED_LINK,
        "raced": AccountErrorKind.USED_LINK,
    }
    messages = {name: error.message for name, error in refusals.items()}
    assert len({messages["unknown"], messages["tampered"], messages["expired"]}) == 3
    assert "15 minutes" in messages["expired"]
    assert "already used" in messages["used"]
    assert all(error.kind in (ErrorKind.INVALID, ErrorKind.REFUSED) for error in refusals.values())


class _NoDatabase:
    def __call__(self) -> NoReturn:
        raise AssertionError("a mangled link must not reach the database")


async def test_a_tampered_link_is_refused_before_the_database() -> None:
    service = AccountService(_NoDatabase(), Settings(_env_file=None))  # type: ignore[arg-type]
    raw, _ = new_token()
    for mangled in (raw[:-3], raw + "%3D", raw.replace(raw[5], "*")):
        with pytest.raises(AccountError) as refused:
            await service.use_link(mangled)
        assert refused.value.reason == AccountErrorKind.INVALID_LINK
        assert mangled not in refused.value.message


async def test_a_mangled_session_cookie_is_no_session() -> None:
    service = AccountService(_NoDatabase(), Settings(_env_file=None))  # type: ignore[arg-type]
    assert await service.session_account(None) is None
    assert await service.session_account("not-a-session") is None
    await service.end_session("not-a-session")
