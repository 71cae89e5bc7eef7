"""The account rules: the login identity, what a password must be, an account's subject."""

from __future__ import annotations

import uuid

import pytest

from boxoffice.accounts.domain import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    Account,
    AccountError,
    AccountErrorKind,
    account_subject,
    check_password,
    checked_email,
    normalized_email,
)
from boxoffice.core.errors import ErrorKind


@pytest.mark.parametrize(
    ("given", "identity"),
    [
        ("zoe@example.com", "zoe@example.com"),
        ("  Zoe@Example.COM\n", "zoe@example.com"),
        ("ZOË@EXAMPLE.COM", "zoë@example.com"),
    ],
)
def test_the_login_identity_is_trimmed_and_lower_case(given: str, identity: str) -> None:
    assert normalized_email(given) == identity
    assert checked_email(given) == identity


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "zoe",
        "zoe@",
        "@example.com",
        "zoe@localhost",
        "zo e@example.com",
        "a\r\nb@example.com",
        "z" * 310 + "@example.com",
    ],
)
def test_what_cannot_be_an_address_is_refused(bad: str) -> None:
    with pytest.raises(AccountError) as refused:
        checked_email(bad)
    assert refused.value.reason == AccountErrorKind.BAD_EMAIL
    assert refused.value.kind == ErrorKind.INVALID


def test_a_password_is_between_10_and_200_characters() -> None:
    assert (PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH) == (10, 200)
    check_password("x" * 10)
    check_password("x" * 200)
    check_password("ünïcødé ✓ 10")
    for bad, says in (("x" * 9, "at least 10"), ("", "at least 10"), ("x" * 201, "at most 200")):
        with pytest.raises(AccountError) as refused:
            check_password(bad)
        assert refused.value.reason == AccountErrorKind.BAD_PASSWORD
        assert refused.value.kind == ErrorKind.INVALID
        assert says in refused.value.message


def test_an_account_owns_orders_by_its_subject() -> None:
    account_id = uuid.uuid4()
    account = Account(account_id, "zoe@example.com", None, True, False)
    assert account.subject == account_subject(account_id) == f"account:{account_id}"
