"""A guest's Idempotency-Key is a credential: guessable ones are refused."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable

import pytest

from boxoffice.auth.idempotency_keys import guest_key_refusal


@pytest.mark.parametrize(
    "key",
    [
        str(uuid.uuid4()),
        str(uuid.uuid4()).upper(),
        uuid.uuid4().hex,
        secrets.token_hex(16),
        secrets.token_urlsafe(16),
        f"checkout-{uuid.uuid4()}",
    ],
)
def test_random_keys_are_accepted(key: str) -> None:
    assert guest_key_refusal(key) is None


@pytest.mark.parametrize(
    "key",
    [
        "1",
        "order-42",
        "replayed-key",
        "a" * 64,
        "0" * 32,
        str(uuid.uuid1()),  # time and machine: guessable
        "00000000-0000-0000-0000-000000000000",
        str(uuid.UUID(int=uuid.uuid4().int, version=3)),
        secrets.token_hex(15),  # 120 bits
        secrets.token_urlsafe(15)[:20],  # 120 bits
        "key with spaces and more than enough characters",
        "ключ-" + secrets.token_hex(16),
        # Long enough, and made to look random, but a pattern (the attack's own examples).
        "0123456789abcdef0123456789abcdef",
        "abcdefghijklmnopqrstuv",
        "00000000-0000-4000-8000-000000000000",  # a v4 UUID of zeros
        "fedcba9876543210fedcba9876543210",
        "a1b2c3d4" * 4,
        "ZYXWVUTSRQPONMLKJIHGFEDC",
    ],
)
def test_guessable_keys_are_refused(key: str) -> None:
    refusal = guest_key_refusal(key)
    assert refusal is not None and "128 bits" in refusal


@pytest.mark.parametrize(
    "make",
    [lambda: secrets.token_hex(16), lambda: str(uuid.uuid4()), lambda: secrets.token_urlsafe(16)],
)
def test_a_random_key_is_refused_very_rarely(make: Callable[[], str]) -> None:
    """The pattern rules cost real clients almost nothing: no refusal in 20,000 keys of each
    kind (about one in ten million is expected)."""
    refused = [key for key in (make() for _ in range(20_000)) if guest_key_refusal(key)]
    assert not refused
