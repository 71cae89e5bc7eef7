"""Property-based: no mutation of a valid code verifies, online or at an offline gate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from boxoffice.gate.offline import OfflineGate
from boxoffice.gate.results import GateBundle, GateKey
from boxoffice.orders.tickets.codes import TicketSigner, verify_code
from tests.orders.unit.code_mutations import mutated_codes

SIGNER = TicketSigner(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
TICKET, EVENT = uuid.UUID(int=7), uuid.UUID(int=42)
CODE = SIGNER.sign(TICKET, EVENT)


def _bundle() -> GateBundle:
    return GateBundle(
        event_id=EVENT,
        version=0,
        generated_at=datetime.now(UTC),
        keys=[GateKey(key_id=SIGNER.key_id, public_key=SIGNER.public_key_pem())],
        void_ticket_ids=[],
        checked_in_ticket_ids=[],
    )


def test_the_unmutated_code_verifies() -> None:
    # Without this the property below would hold for a verifier that refuses everything.
    verified = verify_code(CODE, SIGNER.public_keys())
    assert verified is not None and verified.ticket_id == TICKET
    assert OfflineGate(_bundle(), "g").scan(CODE).result == "accepted"


@settings(max_examples=2000, deadline=None)
@given(mutated_codes(CODE))
def test_no_mutation_verifies(mutant: str) -> None:
    assert verify_code(mutant, SIGNER.public_keys()) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(mutated_codes(CODE), min_size=1, max_size=5))
def test_an_offline_gate_accepts_no_mutation_and_uploads_none(mutants: list[str]) -> None:
    gate = OfflineGate(_bundle(), "g")
    assert {gate.scan(m).result for m in mutants} == {"invalid"}
    assert gate.upload() is None
