"""Hypothesis strategies for codes that are almost a valid ticket code: what a forger or a bad
scanner makes of a real one."""

from __future__ import annotations

import base64
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st

from boxoffice.orders.tickets.codes import TicketSigner


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _flip_bit(code: str, index: int, bit: int) -> str:
    raw = bytearray(code.encode("ascii"))
    raw[index % len(raw)] ^= 1 << bit
    return raw.decode("latin-1")


def _reencode(code: str, how: int) -> str:
    """The same bytes spelt another way: padded, standard alphabet, other case, spaces."""
    version, key_id, body, signature = code.split(".")
    spellings = [
        f"{version}.{key_id}.{body}=.{signature}==",
        code.replace("-", "+").replace("_", "/"),
        code.upper(),
        code.lower(),
        f" {code}",
        f"{code}\n",
        code.replace(".", ":"),
        f"{version}.{key_id.upper()}.{body}.{signature}",
        base64.b64encode(code.encode()).decode(),
    ]
    return spellings[how % len(spellings)]


def _other_ticket(code: str, ticket: uuid.UUID) -> str:
    """Another ticket id (the same event) under the original signature."""
    version, key_id, body, signature = code.split(".")
    event = base64.urlsafe_b64decode(body + "=")[16:]
    return f"{version}.{key_id}.{_b64(ticket.bytes + event)}.{signature}"


def _other_key(code: str, seed: bytes, keep_key_id: bool) -> str:
    """The same ticket and event signed by a key we never issued, under its own key id or
    pretending to be ours."""
    _, key_id, body, _ = code.split(".")
    raw = base64.urlsafe_b64decode(body + "=")
    forger = TicketSigner(Ed25519PrivateKey.from_private_bytes(seed))
    forged = forger.sign(uuid.UUID(bytes=raw[:16]), uuid.UUID(bytes=raw[16:]))
    if not keep_key_id:
        return forged
    version, _, forged_body, signature = forged.split(".")
    return f"{version}.{key_id}.{forged_body}.{signature}"


def mutated_codes(code: str) -> st.SearchStrategy[str]:
    """Every string here differs from `code`; none may ever be accepted."""
    length = len(code)
    return st.one_of(
        st.builds(_flip_bit, st.just(code), st.integers(0, length - 1), st.integers(0, 7)),
        st.integers(0, length - 1).map(lambda n: code[:n]),
        st.text(min_size=1, max_size=40).map(lambda tail: code + tail),
        st.integers(0, 8).map(lambda how: _reencode(code, how)),
        st.uuids().map(lambda ticket: _other_ticket(code, ticket)),
        st.builds(_other_key, st.just(code), st.binary(min_size=32, max_size=32), st.booleans()),
        st.text(max_size=300),
    ).filter(lambda mutant: mutant != code)
