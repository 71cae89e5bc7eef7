"""What a guest's Idempotency-Key must be.

A retried create with the same key returns the same order, and to a guest that answer carries
the order's access token: so for a guest the key *is* a credential, and a guessable one (`1`,
`order-42`, a timestamp) hands the first guest's order to whoever sends it next. A key must be
random and at least 128 bits long. Randomness cannot be measured from one value, so this refuses
what is clearly not random: too short for 128 bits in its alphabet, too few distinct characters,
a run of consecutive characters (`0123456789`, `abcdefgh`), a block repeated, or a UUID of a
version that is not random (time-based v1, v6, v7; the nil UUID; a v4 of zeros). A random key
is refused by these about once in ten million. Accounts are not held to this: their orders are
bound to the account, whatever the key.
"""

from __future__ import annotations

import re
import string
import uuid
from itertools import pairwise

MIN_BITS = 128
#: Random 32-hex-digit keys have fewer than 8 distinct characters about once in a million.
MIN_DISTINCT = 8
_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX = frozenset(string.hexdigits + "-")
#: A run of this many characters each one after the other (`01234567`, `hgfedcba`): 25
#: chances in (1/16)^7 for 32 random hex digits, about one key in ten million.
MAX_RUN = 8
_REPEATED = re.compile(r"^(.+?)\1+$")

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
        return GUEST_KEY_RULE if _patterned(parsed.hex) else None
    bits_per_character = 4 if set(key) <= _HEX else 6
    symbols = len(key.replace("-", "")) if bits_per_character == 4 else len(key)
    if symbols * bits_per_character < MIN_BITS or _patterned(key.replace("-", "")):
        return GUEST_KEY_RULE
    return None


def _patterned(symbols: str) -> bool:
    """Too few distinct characters, a long run of consecutive ones, or a repeated block."""
    if len(set(symbols)) < MIN_DISTINCT or _REPEATED.match(symbols):
        return True
    up = down = 1
    for before, after in pairwise(symbols.lower()):
        step = ord(after) - ord(before)
        up = up + 1 if step == 1 else 1
        down = down + 1 if step == -1 else 1
        if max(up, down) >= MAX_RUN:
            return True
    return False
