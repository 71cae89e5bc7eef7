"""The payload encryption keys: parsed from settings, or generated once into `data_dir` in dev.

Keys are written `key_id:base64(32 bytes)`, several separated by commas; the key id travels in
every encrypted payload, so a key can be replaced while payloads it encrypted are still read.
Error messages name key ids, never key material.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from boxoffice.core.secret_files import load_or_create_secret

if TYPE_CHECKING:
    from boxoffice.core.settings import Settings

#: AES-256.
KEY_BYTES = 32
#: Key ids go into payload metadata and logs: short, printable, no separators of the key list.
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
DEV_KEY_FILE = "payload-encryption-key"
_HOW_TO_MAKE_ONE = "make one with `openssl rand -base64 32`"


@dataclass(frozen=True)
class KeyRing:
    """Every key that may decrypt, by id, and the one that encrypts new payloads."""

    keys: Mapping[str, bytes]
    current_key_id: str

    def __post_init__(self) -> None:
        if self.current_key_id not in self.keys:
            raise ValueError(
                f"the payload encryption key id {self.current_key_id!r} is not among the "
                f"configured keys ({', '.join(sorted(self.keys))})"
            )


def parse_keys(text: str) -> dict[str, bytes]:
    """`id:base64key,id2:base64key` as {id: key}; ValueError (naming ids only) if malformed."""
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(text.replace("\n", ",").split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        key_id, colon, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not colon or not _KEY_ID.fullmatch(key_id):
            raise ValueError(
                f"payload encryption key #{position} is not `key_id:base64key` (key ids are 1-64 "
                "letters, digits, '.', '_' or '-')"
            )
        if key_id in keys:
            raise ValueError(f"payload encryption key id {key_id!r} appears twice")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                f"payload encryption key {key_id!r} is not valid base64; {_HOW_TO_MAKE_ONE}"
            ) from None
        if len(key) != KEY_BYTES:
            raise ValueError(
                f"payload encryption key {key_id!r} is {len(key)} bytes; AES-256 needs "
                f"{KEY_BYTES}: {_HOW_TO_MAKE_ONE}"
            )
        keys[key_id] = key
    if not keys:
        raise ValueError(f"no payload encryption key given; {_HOW_TO_MAKE_ONE}")
    return keys


def choose_current_key_id(keys: Mapping[str, bytes], key_id: str | None) -> str:
    """The key for new payloads: the one named, or the only one. With several keys it must be
    named, since guessing would encrypt with a key some readers may not have yet."""
    if key_id is not None:
        KeyRing(keys, key_id)  # validates that it is configured
        return key_id
    if len(keys) == 1:
        return next(iter(keys))
    raise ValueError(
        "several payload encryption keys are configured: set PAYLOAD_ENCRYPTION_KEY_ID to the "
        "one that encrypts new payloads"
    )


def format_key(key_id: str, key: bytes) -> str:
    """A key as it is written in PAYLOAD_ENCRYPTION_KEYS."""
    return f"{key_id}:{base64.b64encode(key).decode('ascii')}"


def load_or_create_dev_keys(path: Path) -> dict[str, bytes]:
    """The key in `path`, generated (random id and key, mode 0600, atomically) if missing.

    The file is written like PAYLOAD_ENCRYPTION_KEYS, so it can be copied there as is."""

    def generate() -> bytes:
        key_id = f"dev-{secrets.token_hex(4)}"
        return (format_key(key_id, secrets.token_bytes(KEY_BYTES)) + "\n").encode("ascii")

    try:
        return parse_keys(load_or_create_secret(path, generate).decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def key_ring_from_settings(settings: Settings) -> KeyRing:
    """The configured keys (PAYLOAD_ENCRYPTION_KEYS), else the dev key file under data_dir."""
    if settings.payload_encryption_keys is not None:
        keys = parse_keys(settings.payload_encryption_keys.get_secret_value())
    else:
        keys = load_or_create_dev_keys(settings.data_dir / DEV_KEY_FILE)
    return KeyRing(keys, choose_current_key_id(keys, settings.payload_encryption_key_id))
