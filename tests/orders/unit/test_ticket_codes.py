"""Ticket codes: what the gate will trust. Anything not signed by a known key is None, never an
exception."""

from __future__ import annotations

import stat
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from boxoffice.core.settings import Settings
from boxoffice.orders.tickets.codes import (
    MAX_CODE_LENGTH,
    TicketSigner,
    load_or_create_signing_key,
    signer_from_settings,
    verify_code,
)

TICKET = uuid.UUID("0b6c8a3e-1f2d-4c5b-9a8e-7d6f5e4c3b2a")
EVENT = uuid.UUID("9e8d7c6b-5a49-4837-a625-14f3e2d1c0b9")


@pytest.fixture(scope="module")
def signer() -> TicketSigner:
    return TicketSigner(Ed25519PrivateKey.generate())


def test_round_trip(signer: TicketSigner) -> None:
    code = signer.sign(TICKET, EVENT)
    verified = verify_code(code, signer.public_keys())
    assert verified is not None
    assert (verified.ticket_id, verified.event_id, verified.key_id) == (
        TICKET,
        EVENT,
        signer.key_id,
    )


def test_code_fits_a_small_qr(signer: TicketSigner) -> None:
    code = signer.sign(TICKET, EVENT)
    assert code.startswith(f"BX1.{signer.key_id}.")
    assert len(code) <= 160
    assert len(signer.key_id) == 16


def test_signing_is_deterministic(signer: TicketSigner) -> None:
    assert signer.sign(TICKET, EVENT) == signer.sign(TICKET, EVENT)


def test_rotated_keys_verify_side_by_side(signer: TicketSigner) -> None:
    newer = TicketSigner(Ed25519PrivateKey.generate())
    keys = {**signer.public_keys(), **newer.public_keys()}
    assert verify_code(signer.sign(TICKET, EVENT), keys) is not None
    verified = verify_code(newer.sign(TICKET, EVENT), keys)
    assert verified is not None and verified.key_id == newer.key_id


def test_other_key_is_refused(signer: TicketSigner) -> None:
    other = TicketSigner(Ed25519PrivateKey.generate())
    code = signer.sign(TICKET, EVENT)
    assert verify_code(code, other.public_keys()) is None
    # The right key id but the wrong key behind it: the signature check still refuses.
    assert verify_code(code, {signer.key_id: other.public_key}) is None


def test_swapped_ticket_is_refused(signer: TicketSigner) -> None:
    mine = signer.sign(TICKET, EVENT).split(".")
    theirs = signer.sign(uuid.uuid4(), EVENT).split(".")
    forged = ".".join([*mine[:2], theirs[2], mine[3]])
    assert verify_code(forged, signer.public_keys()) is None


def test_every_flipped_bit_is_refused(signer: TicketSigner) -> None:
    code = signer.sign(TICKET, EVENT)
    raw = code.encode("ascii")
    for index in range(len(raw)):
        for bit in range(8):
            tampered = bytearray(raw)
            tampered[index] ^= 1 << bit
            text = tampered.decode("latin-1")
            assert verify_code(text, signer.public_keys()) is None, (index, bit)


def test_non_canonical_base64_is_refused(signer: TicketSigner) -> None:
    # The last character of 43 base64 digits carries 2 unused bits; another spelling of the
    # same bytes must not count as a second valid code.
    code = signer.sign(TICKET, EVENT)
    version, key_id, body, signature = code.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(body[-1])
    respelt = body[:-1] + alphabet[last ^ 1]
    assert (
        verify_code(".".join([version, key_id, respelt, signature]), signer.public_keys()) is None
    )


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        ".",
        "...",
        "BX1",
        "BX1...",
        "hello world",
        "BX2.0000000000000000.AAAA.AAAA",
        "\x00\xff\n",
        "🎟️" * 40,
        "BX1.zzzzzzzzzzzzzzzz." + "A" * 43 + "." + "A" * 86,
    ],
)
def test_garbage_is_refused(signer: TicketSigner, garbage: str) -> None:
    assert verify_code(garbage, signer.public_keys()) is None


def test_truncated_and_extended_codes_are_refused(signer: TicketSigner) -> None:
    code = signer.sign(TICKET, EVENT)
    for cut in range(len(code)):
        assert verify_code(code[:cut], signer.public_keys()) is None
    assert verify_code(code + "A", signer.public_keys()) is None
    assert verify_code(code + "\n", signer.public_keys()) is None
    assert verify_code(" " + code, signer.public_keys()) is None
    assert verify_code(code.upper(), signer.public_keys()) is None


def test_oversized_input_is_refused_unparsed(signer: TicketSigner) -> None:
    code = signer.sign(TICKET, EVENT)
    assert verify_code(code + "." * (MAX_CODE_LENGTH - len(code) + 1), signer.public_keys()) is None
    assert verify_code("A" * 10_000_000, signer.public_keys()) is None


def test_non_string_input_is_refused(signer: TicketSigner) -> None:
    assert verify_code(None, signer.public_keys()) is None  # type: ignore[arg-type]
    assert verify_code(b"BX1", signer.public_keys()) is None  # type: ignore[arg-type]


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ticket-signing-key.pem"
    first = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_or_create_signing_key(path)
    assert TicketSigner(first).key_id == TicketSigner(second).key_id
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_signer_from_settings_prefers_the_configured_pem(tmp_path: Path) -> None:
    from_file = signer_from_settings(Settings(_env_file=None, data_dir=tmp_path))
    assert (tmp_path / "ticket-signing-key.pem").exists()
    pem = (tmp_path / "ticket-signing-key.pem").read_text()
    from_pem = signer_from_settings(
        Settings(_env_file=None, data_dir=tmp_path / "elsewhere", ticket_signing_key=pem)
    )
    assert from_pem.key_id == from_file.key_id
    assert not (tmp_path / "elsewhere").exists()
    assert "BEGIN PUBLIC KEY" in from_pem.public_key_pem()


def test_workers_creating_the_key_together_share_one(tmp_path: Path) -> None:
    path = tmp_path / "ticket-signing-key.pem"
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda _: load_or_create_signing_key(path), range(32)))
    assert len({TicketSigner(key).key_id for key in keys}) == 1
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
