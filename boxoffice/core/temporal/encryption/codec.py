"""The payload codec: every payload Temporal stores (workflow inputs and results, activity
arguments and results, update and query payloads) is encrypted with AES-256-GCM, so buyer names
and emails never reach the Temporal server in the clear. Failure messages and stack traces are
encrypted the same way (as an encoded-attributes payload).

An encrypted payload is the serialized original payload, encrypted under a random 96-bit nonce,
stored as `nonce + ciphertext`, with metadata `encoding: binary/encrypted` and
`encryption-key-id`. The key id is also authenticated data, so a payload relabelled with another
key id is refused like any other tampering. Payloads without that encoding pass through decode
unchanged: histories recorded before encryption was turned on still replay.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

from boxoffice.core.temporal.encryption.failures import CompactEncryptedFailureConverter
from boxoffice.core.temporal.encryption.keys import KeyRing

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12


class PayloadDecryptionError(ValueError):
    """An encrypted payload this process cannot read: unknown key id, or tampered with."""


class EncryptionCodec(PayloadCodec):
    """Encrypts with the key ring's current key; decrypts with whichever key a payload names."""

    def __init__(self, key_ring: KeyRing) -> None:
        super().__init__()
        self._ciphers = {key_id: AESGCM(key) for key_id, key in key_ring.keys.items()}
        self.current_key_id = key_ring.current_key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.current_key_id.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.current_key_id].encrypt(
            nonce, payload.SerializeToString(), key_id
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        """The original payload; one not encrypted by us is returned as it is."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        raw_key_id = payload.metadata.get(KEY_ID_METADATA, b"")
        key_id = raw_key_id.decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(sorted(self._ciphers))
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r}, which is not configured (known: "
                f"{known}); add that key to PAYLOAD_ENCRYPTION_KEYS"
            )
        data = payload.data
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], raw_key_id)
            return Payload.FromString(plain)
        except (InvalidTag, ValueError, DecodeError):
            # ValueError: data too short to hold a nonce and a tag.
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r} does not decrypt: it was altered, or "
                "encrypted with a different key under the same id"
            ) from None


def encrypting_data_converter(key_ring: KeyRing) -> DataConverter:
    """The default converter (JSON dataclasses) with every payload encrypted, and failures'
    messages and stack traces too (see `failures.py`)."""
    return DataConverter(
        payload_codec=EncryptionCodec(key_ring),
        failure_converter_class=CompactEncryptedFailureConverter,
    )
