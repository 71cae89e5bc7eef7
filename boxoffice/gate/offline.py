"""An offline gate: checks codes with only a gate bundle, and keeps its admissions for upload.

What a gate app does when the network is gone. Signatures are checked with the bundle's public
keys; voided tickets and those already in (by the bundle, or scanned here) are refused. Scans
are uploaded later to `POST /events/{id}/scans`, where the earliest scan of a ticket wins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from boxoffice.gate.results import (
    MAX_SCANS_PER_UPLOAD,
    GateBundle,
    OfflineScan,
    OfflineScansUpload,
    ScanResult,
)
from boxoffice.orders.tickets.codes import key_id_of, verify_code


@dataclass(frozen=True)
class OfflineAnswer:
    result: ScanResult
    ticket_id: uuid.UUID | None
    scan_id: str


class OfflineGate:
    def __init__(self, bundle: GateBundle, gate: str) -> None:
        self.gate = gate
        self._scans: list[OfflineScan] = []
        self._admitted: set[uuid.UUID] = set()
        self.bundle = bundle
        self._load(bundle)

    def _load(self, bundle: GateBundle) -> None:
        keys: dict[str, Ed25519PublicKey] = {}
        for entry in bundle.keys:
            key = serialization.load_pem_public_key(entry.public_key.encode("ascii"))
            # A key whose id does not match its bytes would let one key pass for another.
            if not isinstance(key, Ed25519PublicKey) or key_id_of(key) != entry.key_id:
                raise ValueError(f"bundle key {entry.key_id} is not the Ed25519 key it names")
            keys[entry.key_id] = key
        self._keys = keys
        self._void = set(bundle.void_ticket_ids)
        self._checked_in = set(bundle.checked_in_ticket_ids)

    def refresh(self, bundle: GateBundle) -> None:
        """Take a newer bundle; scans made here since are kept for upload."""
        if bundle.event_id != self.bundle.event_id:
            raise ValueError("a bundle for another event")
        if bundle.version >= self.bundle.version:
            self.bundle = bundle
            self._load(bundle)

    def scan(self, code: str, scanned_at: datetime | None = None) -> OfflineAnswer:
        scan_id = str(uuid.uuid4())
        verified = verify_code(code, self._keys)
        if verified is None:
            return OfflineAnswer("invalid", None, scan_id)
        ticket_id = verified.ticket_id
        result: ScanResult
        if verified.event_id != self.bundle.event_id:
            result = "wrong_event"
        elif ticket_id in self._void:
            result = "void"
        elif ticket_id in self._checked_in or ticket_id in self._admitted:
            result = "already_used"
        else:
            result = "accepted"
            self._admitted.add(ticket_id)
            # Only admissions are uploaded: a refused scan let nobody in, so there is nothing
            # to reconcile.
            when = scanned_at or datetime.now(UTC)
            self._scans.append(OfflineScan(scan_id=scan_id, code=code, scanned_at=when))
        return OfflineAnswer(result, ticket_id, scan_id)

    def upload(self) -> OfflineScansUpload | None:
        """The next batch of scans not yet uploaded, as the upload body; None when there are
        none. They stay here until `uploaded` is told: sending a batch again is harmless."""
        if not self._scans:
            return None
        return OfflineScansUpload(gate=self.gate, scans=self._scans[:MAX_SCANS_PER_UPLOAD])

    def uploaded(self, scan_ids: set[str]) -> None:
        self._scans = [scan for scan in self._scans if scan.scan_id not in scan_ids]
