"""What a guest's Idempotency-Key must be.

A retried create with the same key returns the same order, and to a guest that answer carries
the order's access token: so for a guest the key *is* a credential, and a guessable one (`1`,
`order-42`, a timestamp) hands the first guest's order to whoever sends it next. A key must be
random and at least 128 bits long. Randomness cannot be measured from one value, so this refuses
what is clearly not random: too short for 128 bits in its alphabet, too few distinct characters,
or a UUID of a version that is not random (time-based v1, v6, v7; the nil UUID). Accounts are
not held to this: their orders are bound to the account, whatever the key.
"""

from __future__ import annotations

import re
import string
import uuid

MIN_BITS = 128
#: Random 32-hex-digit keys have fewer than 8 distinct characters about once in a million.
MIN_DISTINCT = 8
_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = frozenset(string.hexdigits + "-")

GUEST_KEY_RULE = (
    "Without an account, an Idempotency-Key must be random, at least 128 bits: a random UUID "
    "(uuidgen, crypto.randomUUID()), 32 hex digits (openssl rand -hex 16) or 22 characters of "
    "base64url; anyone who knows the key can ask for the same order."
)


def guest_key_refusal(key: str) -> str | None:
    """Why `key` may not be a guest's Idempotency-Key, or None when it may."""
    if not _ALPHABET.match(key):
        return f"{GUEST_KEY_RULE} Use only letters, digits, '-' and '_'."
    if _UUID.match(key):
        parsed = uuid.UUID(key)
        if parsed.version != 4 or parsed.variant != uuid.RFC_4122:
            return f"{GUEST_KEY_RULE} This UUID is not a random one (version 4)."
        return None
    bits_per_character = 4 if set(key) <= _HEX else 6
    symbols = len(key.replace("-", "")) if bits_per_character == 4 else len(key)
    if symbols * bits_per_character < MIN_BITS or len(set(key)) < MIN_DISTINCT:
        return GUEST_KEY_RULE
    return None
