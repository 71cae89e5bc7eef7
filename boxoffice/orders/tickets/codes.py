"""Signed ticket codes: what the QR code holds and the gate checks offline.

A code is `BX1.<key_id>.<base64url(ticket uuid + event uuid)>.<base64url(signature)>`, with the
Ed25519 signature over everything before its dot. The key id travels in every code from the
first version, so keys can rotate: the gate keeps the public keys of all keys still in use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from boxoffice.core.secret_files import load_or_create_secret

if TYPE_CHECKING:
    from boxoffice.core.settings import Settings

CODE_VERSION = "BX1"
#: Longer input is refused before any parsing, so garbage at the gate costs nothing.
MAX_CODE_LENGTH = 512

_CODE = re.compile(
    rf"(?P<signed>{CODE_VERSION}\.(?P<key_id>[0-9a-f]{{16}})\.(?P<body>[A-Za-z0-9_-]{{43}}))"
    r"\.(?P<signature>[A-Za-z0-9_-]{86})"
)


@dataclass(frozen=True)
class VerifiedCode:
    ticket_id: UUID
    event_id: UUID
    key_id: str


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """Short, stable name of a key: the first 16 hex digits of sha256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class TicketSigner:
    """Signs ticket codes with one private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_of(self.public_key)

    def sign(self, ticket_id: UUID, event_id: UUID) -> str:
        # Ed25519 is deterministic: the same ticket always gets the same code from one key.
        signed = f"{CODE_VERSION}.{self.key_id}.{_b64encode(ticket_id.bytes + event_id.bytes)}"
        signature = self._private_key.sign(signed.encode("ascii"))
        return f"{signed}.{_b64encode(signature)}"

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """The mapping `verify_code` takes, for a gate that knows only this key."""
        return {self.key_id: self.public_key}

    def public_key_pem(self) -> str:
        return public_key_pem(self.public_key)


def verify_code(code: str, public_keys: Mapping[str, Ed25519PublicKey]) -> VerifiedCode | None:
    """The ticket and event a code names, or None for anything not signed by a known key.

    Never raises on garbage: the input comes from whatever a scanner read."""
    if not isinstance(code, str) or len(code) > MAX_CODE_LENGTH:
        return None
    match = _CODE.fullmatch(code)
    if match is None:
        return None
    key_id = match["key_id"]
    public_key = public_keys.get(key_id)
    if public_key is None:
        return None
    body = _b64decode_exact(match["body"], 32)
    signature = _b64decode_exact(match["signature"], 64)
    if body is None or signature is None:
        return None
    try:
        public_key.verify(signature, match["signed"].encode("ascii"))
    except InvalidSignature:
        return None
    return VerifiedCode(
        ticket_id=UUID(bytes=body[:16]), event_id=UUID(bytes=body[16:]), key_id=key_id
    )


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`, created (mode 0600) if missing; two workers starting together end up
    signing with the same key."""

    def generate() -> bytes:
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    return private_key_from_pem(load_or_create_secret(path, generate))


def private_key_from_pem(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the ticket signing key must be an Ed25519 private key")
    return key


def signer_from_settings(settings: Settings) -> TicketSigner:
    """The configured key (`TICKET_SIGNING_KEY`), else the key file, created on first use."""
    if settings.ticket_signing_key is not None:
        pem = settings.ticket_signing_key.get_secret_value().encode()
        return TicketSigner(private_key_from_pem(pem))
    return TicketSigner(load_or_create_signing_key(settings.signing_key_path))


def public_keys_from_pem(pem: str) -> dict[str, Ed25519PublicKey]:
    """Every Ed25519 public key in a text of concatenated PEM blocks, by key id."""
    keys: dict[str, Ed25519PublicKey] = {}
    for block in _PEM_PUBLIC_KEY.findall(pem):
        key = serialization.load_pem_public_key(block.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("a ticket verification key must be an Ed25519 public key")
        keys[key_id_of(key)] = key
    if pem.strip() and not keys:
        raise ValueError("no PEM public key found in the previous ticket keys")
    return keys


def public_keys_from_settings(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """Keys the gate accepts: the current signing key's and every retired one still trusted."""
    keys: dict[str, Ed25519PublicKey] = {}
    if settings.ticket_previous_public_keys_file is not None:
        keys |= public_keys_from_pem(settings.ticket_previous_public_keys_file.read_text())
    if settings.ticket_previous_public_keys is not None:
        keys |= public_keys_from_pem(settings.ticket_previous_public_keys)
    return keys | signer_from_settings(settings).public_keys()


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


_PEM_PUBLIC_KEY = re.compile(
    r"-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+?-----END PUBLIC KEY-----"
)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode_exact(text: str, size: int) -> bytes | None:
    """Decode unpadded base64url; None unless it is the one canonical spelling of `size` bytes,
    so no two different strings verify as the same code."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(data) != size or _b64encode(data) != text:
        return None
    return data
