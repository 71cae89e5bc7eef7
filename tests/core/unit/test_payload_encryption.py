"""The payload codec and its keys: what Temporal stores is ciphertext, keys rotate, tampering and
unknown keys are refused, and payloads from before encryption still read."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from boxoffice.app import create_app
from boxoffice.core.settings import Settings
from boxoffice.core.temporal.encryption.codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadDecryptionError,
    encrypting_data_converter,
)
from boxoffice.core.temporal.encryption.keys import (
    DEV_KEY_FILE,
    KeyRing,
    format_key,
    key_ring_from_settings,
    load_or_create_dev_keys,
    parse_keys,
)
from boxoffice.orders.messages import Buyer

BUYER = Buyer(email="grace@example.com", name="Grace Hopper")


def new_key() -> bytes:
    return secrets.token_bytes(32)


def ring(current: str = "k1", **keys: bytes) -> KeyRing:
    return KeyRing(keys or {current: new_key()}, current)


async def plain_payload(value: object) -> Payload:
    return (await DataConverter.default.encode([value]))[0]


async def test_round_trip_through_the_data_converter_hides_the_buyer() -> None:
    converter = encrypting_data_converter(ring())

    [stored] = await converter.encode([BUYER])

    assert stored.metadata["encoding"] == ENCODING
    assert stored.metadata[KEY_ID_METADATA] == b"k1"
    raw = stored.SerializeToString()
    assert b"grace@example.com" not in raw
    assert b"Grace Hopper" not in raw
    assert await converter.decode([stored], [Buyer]) == [BUYER]


async def test_each_encryption_uses_a_fresh_nonce() -> None:
    codec = EncryptionCodec(ring())
    payload = await plain_payload(BUYER)

    first, second = await codec.encode([payload, payload])

    assert first.data != second.data
    assert await codec.decode([first, second]) == [payload, payload]


async def test_rotation_old_key_still_decrypts_new_payloads_use_the_new_key() -> None:
    old, new = new_key(), new_key()
    before = EncryptionCodec(KeyRing({"2025-01": old}, "2025-01"))
    after = EncryptionCodec(KeyRing({"2025-01": old, "2025-06": new}, "2025-06"))
    payload = await plain_payload(BUYER)

    [written_before] = await before.encode([payload])
    [written_after] = await after.encode([payload])

    assert written_before.metadata[KEY_ID_METADATA] == b"2025-01"
    assert written_after.metadata[KEY_ID_METADATA] == b"2025-06"
    assert await after.decode([written_before, written_after]) == [payload, payload]
    # A process that has not got the new key yet says which key it is missing.
    with pytest.raises(PayloadDecryptionError, match="'2025-06'"):
        await before.decode([written_after])


async def test_tampered_ciphertext_is_refused() -> None:
    codec = EncryptionCodec(ring())
    [stored] = await codec.encode([await plain_payload(BUYER)])
    flipped = bytearray(stored.data)
    flipped[len(flipped) // 2] ^= 0x01
    tampered = Payload(metadata=dict(stored.metadata), data=bytes(flipped))
    truncated = Payload(metadata=dict(stored.metadata), data=stored.data[:10])

    for bad in (tampered, truncated):
        with pytest.raises(PayloadDecryptionError, match="does not decrypt"):
            await codec.decode([bad])


async def test_a_payload_relabelled_with_another_known_key_id_is_refused() -> None:
    """The key id is authenticated: moving a payload under another key's name fails."""
    key = new_key()
    codec = EncryptionCodec(KeyRing({"a": key, "b": key}, "a"))
    [stored] = await codec.encode([await plain_payload(BUYER)])
    relabelled = Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"b"}, data=stored.data)

    with pytest.raises(PayloadDecryptionError):
        await codec.decode([relabelled])


async def test_unknown_key_id_is_a_clear_error() -> None:
    [stored] = await EncryptionCodec(ring("retired")).encode([await plain_payload(BUYER)])

    with pytest.raises(PayloadDecryptionError, match=r"'retired'.*not configured.*k1"):
        await EncryptionCodec(ring("k1")).decode([stored])


async def test_payloads_from_before_encryption_pass_through() -> None:
    codec = EncryptionCodec(ring())
    plain = await plain_payload(BUYER)
    binary = Payload(metadata={"encoding": b"binary/plain"}, data=b"\x00\x01")

    assert await codec.decode([plain, binary]) == [plain, binary]
    assert await encrypting_data_converter(ring()).decode([plain], [Buyer]) == [BUYER]


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        (f"k1:{base64.b64encode(b'x' * 16).decode()}", "'k1' is 16 bytes; AES-256 needs 32"),
        ("k1:not base64!", "'k1' is not valid base64"),
        (f"{base64.b64encode(b'x' * 32).decode()}", "is not `key_id:base64key`"),
        (f"bad id:{base64.b64encode(b'x' * 32).decode()}", "is not `key_id:base64key`"),
        (" , ", "no payload encryption key given"),
    ],
)
def test_malformed_keys_are_refused_with_a_message_that_names_no_secret(
    keys: str, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        parse_keys(keys)


def test_duplicate_key_id_is_refused() -> None:
    text = ",".join([format_key("k1", new_key()), format_key("k1", new_key())])
    with pytest.raises(ValueError, match="'k1' appears twice"):
        parse_keys(text)


def test_settings_validate_keys_without_echoing_them() -> None:
    short = base64.b64encode(b"s3cr3t-key-material").decode()
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, payload_encryption_keys=f"k1:{short}")
    assert "needs 32" in str(refused.value)
    assert short not in str(refused.value)
    assert short not in repr(refused.value)

    two = ",".join([format_key("old", new_key()), format_key("new", new_key())])
    with pytest.raises(ValidationError, match="set PAYLOAD_ENCRYPTION_KEY_ID"):
        Settings(_env_file=None, payload_encryption_keys=two)
    with pytest.raises(ValidationError, match="'other' is not among the configured keys"):
        Settings(_env_file=None, payload_encryption_keys=two, payload_encryption_key_id="other")


def test_settings_keys_choose_the_current_key(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        payload_encryption_keys=f"{format_key('old', old)}, {format_key('new', new)}",
        payload_encryption_key_id="new",
    )

    assert key_ring_from_settings(settings) == KeyRing({"old": old, "new": new}, "new")
    assert "payload_encryption_keys=SecretStr('**********')" in repr(settings)
    # Configured keys never fall back to a generated one.
    assert not (tmp_path / DEV_KEY_FILE).exists()


def test_dev_key_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")

    first = key_ring_from_settings(settings)
    second = key_ring_from_settings(settings)

    path = tmp_path / "data" / DEV_KEY_FILE
    assert first == second
    assert len(first.keys[first.current_key_id]) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    # Written as PAYLOAD_ENCRYPTION_KEYS wants it, to be copied there when leaving dev.
    assert parse_keys(path.read_text()) == dict(first.keys)
    assert [p.name for p in path.parent.iterdir()] == [DEV_KEY_FILE]


def test_a_corrupt_dev_key_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / DEV_KEY_FILE
    path.write_text("dev-1:" + base64.b64encode(os.urandom(8)).decode())

    with pytest.raises(ValueError, match=f"{DEV_KEY_FILE}: .*'dev-1' is 8 bytes"):
        load_or_create_dev_keys(path)


def test_anonymous_codec_access_is_refused_outside_dev(tmp_path: Path) -> None:
    base = {"data_dir": tmp_path, "codec_allow_anonymous": True}
    assert Settings(**base).codec_allow_anonymous  # type: ignore[arg-type]
    for unsafe in (
        {"auth_mode": "oidc", "oidc_issuer": "https://id.example", "oidc_audience": "bx"},
        {"public_base_url": "https://tickets.example"},
        {"codec_cors_origins": "http://localhost:8233,https://temporal.example"},
    ):
        with pytest.raises(ValidationError, match="CODEC_ALLOW_ANONYMOUS"):
            Settings(**base, **unsafe)  # type: ignore[arg-type]


async def test_anonymous_decoding_needs_a_loopback_caller(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, codec_allow_anonymous=True)
    app = create_app(settings)
    app.state.settings = settings  # what the lifespan sets; the refusal needs nothing else
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as remote:
        refused = await remote.post(
            "/codec/decode", json={"payloads": []}, headers={"Origin": "http://localhost:8233"}
        )
    assert refused.status_code == 401
