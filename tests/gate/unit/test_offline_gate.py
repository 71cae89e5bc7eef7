"""The offline gate, with nothing but a bundle, and the keys a rotation keeps trusting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from boxoffice.gate.offline import OfflineGate
from boxoffice.gate.results import GateBundle, GateKey, OfflineScan
from boxoffice.orders.tickets.codes import TicketSigner, public_key_pem, public_keys_from_pem

EVENT = uuid.uuid4()


def _bundle(
    *signers: TicketSigner, void: list[uuid.UUID] | None = None, version: int = 0
) -> GateBundle:
    return GateBundle(
        event_id=EVENT,
        version=version,
        generated_at=datetime.now(UTC),
        keys=[GateKey(key_id=s.key_id, public_key=s.public_key_pem()) for s in signers],
        void_ticket_ids=void or [],
        checked_in_ticket_ids=[],
    )


def test_each_ticket_gets_in_once_and_only_its_event() -> None:
    signer = TicketSigner(Ed25519PrivateKey.generate())
    ticket, voided, used_elsewhere = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    bundle = _bundle(signer, void=[voided])
    bundle.checked_in_ticket_ids.append(used_elsewhere)
    gate = OfflineGate(bundle, "east")
    assert gate.scan(signer.sign(ticket, EVENT)).result == "accepted"
    assert gate.scan(signer.sign(ticket, EVENT)).result == "already_used"
    assert gate.scan(signer.sign(voided, EVENT)).result == "void"
    assert gate.scan(signer.sign(used_elsewhere, EVENT)).result == "already_used"
    assert gate.scan(signer.sign(uuid.uuid4(), uuid.uuid4())).result == "wrong_event"
    upload = gate.upload()
    assert upload is not None
    assert [s.code for s in upload.scans] == [signer.sign(ticket, EVENT)]
    gate.uploaded({s.scan_id for s in upload.scans})
    assert gate.upload() is None


def test_a_newer_bundle_voids_and_an_older_one_is_ignored() -> None:
    signer = TicketSigner(Ed25519PrivateKey.generate())
    ticket = uuid.uuid4()
    gate = OfflineGate(_bundle(signer, version=3), "east")
    gate.refresh(_bundle(signer, void=[ticket], version=2))
    assert gate.bundle.version == 3
    gate.refresh(_bundle(signer, void=[ticket], version=4))
    assert gate.scan(signer.sign(ticket, EVENT)).result == "void"


def test_old_keys_in_the_bundle_keep_their_tickets_valid() -> None:
    old, new = (
        TicketSigner(Ed25519PrivateKey.generate()),
        TicketSigner(Ed25519PrivateKey.generate()),
    )
    gate = OfflineGate(_bundle(new, old), "east")
    assert gate.scan(old.sign(uuid.uuid4(), EVENT)).result == "accepted"
    assert OfflineGate(_bundle(new), "east").scan(old.sign(uuid.uuid4(), EVENT)).result == (
        "invalid"
    )


def test_a_bundle_key_under_another_keys_id_is_refused() -> None:
    ours, forger = (
        TicketSigner(Ed25519PrivateKey.generate()),
        TicketSigner(Ed25519PrivateKey.generate()),
    )
    bundle = _bundle(ours)
    bundle.keys[0] = GateKey(key_id=ours.key_id, public_key=forger.public_key_pem())
    with pytest.raises(ValueError, match="not the Ed25519 key it names"):
        OfflineGate(bundle, "east")


def test_previous_public_keys_parse_from_concatenated_pem() -> None:
    keys = [Ed25519PrivateKey.generate().public_key() for _ in range(3)]
    parsed = public_keys_from_pem("\n".join(public_key_pem(k) for k in keys))
    assert len(parsed) == 3
    with pytest.raises(ValueError, match="no PEM public key"):
        public_keys_from_pem("not a key")
    assert public_keys_from_pem("") == {}


def test_a_gate_clock_running_ahead_counts_as_now() -> None:
    ahead = datetime.now(UTC) + timedelta(hours=3)
    scan = OfflineScan(scan_id="s1", code="x", scanned_at=ahead)
    assert scan.scanned_at <= datetime.now(UTC)
    past = datetime(2026, 1, 1, tzinfo=UTC)
    assert OfflineScan(scan_id="s2", code="x", scanned_at=past).scanned_at == past
