"""Raw tokens of emailed links and browser sessions, and the only form the database keeps of
them: their sha256. A raw token lives in an email or a cookie, never in a table or a log."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32
#: What `secrets.token_urlsafe(32)` gives: 43 characters of unpadded base64url.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> tuple[str, str]:
    """A fresh raw token and its hash (the key it is stored under)."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    return raw, token_hash(raw)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def well_formed(raw: str) -> bool:
    """False for a token cut short, padded or altered out of its alphabet (a mangled link):
    no need to ask the database about it."""
    return _SHAPE.fullmatch(raw) is not None
