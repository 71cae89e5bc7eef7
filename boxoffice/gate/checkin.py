"""Letting a ticket in: online scans answered now, offline scans reconciled when uploaded.

Every scan is recorded under the gate's scan id before anything else happens. A second request
with the same id waits on that row's insert and then returns the first answer, so a gate that
retries after a timeout never sees its own check-in as `already_used`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.core.database.models import Ticket
from boxoffice.gate.repository import (
    Found,
    ScanIdReused,
    claim_scan_id,
    find_ticket,
    finish_scan,
    mark_displaced,
)
from boxoffice.gate.results import (
    OfflineScan,
    OfflineScanAnswer,
    OfflineScansAnswer,
    ScanAnswer,
)
from boxoffice.orders.tickets.codes import verify_code

__all__ = ["CheckIn", "ScanIdReused"]  # the API catches the refusal from here


class CheckIn:
    """Check-in over one database; `public_keys` are every key whose tickets are valid."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        public_keys: Mapping[str, Ed25519PublicKey],
    ) -> None:
        self._sessions = sessions
        self._keys = public_keys

    async def validate(
        self,
        code: str,
        *,
        gate: str | None = None,
        scan_id: str | None = None,
        event_id: uuid.UUID | None = None,
    ) -> ScanAnswer:
        """Answer one online scan; accepting is a single conditional update."""
        async with self._sessions() as s, s.begin():
            if scan_id is not None:
                first = await claim_scan_id(s, scan_id, code, gate, "online", None)
                if first is not None:
                    return ScanAnswer.model_validate(first)
            answer = await self._answer_online(s, code, gate, event_id)
            if scan_id is not None:
                await finish_scan(s, scan_id, answer)
        return answer

    async def _answer_online(
        self, s: AsyncSession, code: str, gate: str | None, event_id: uuid.UUID | None
    ) -> ScanAnswer:
        verified = verify_code(code, self._keys)
        if verified is None:
            return ScanAnswer(result="invalid", message="Not a ticket: the code is not ours.")
        found = await find_ticket(s, verified)
        if found is None:
            return ScanAnswer(result="invalid", message="Signed, but no such ticket was issued.")
        if event_id is not None and verified.event_id != event_id:
            return ScanAnswer(
                result="wrong_event", message="A ticket for another event.", ticket=found.ticket
            )
        checked_in = (
            await s.execute(
                update(Ticket)
                .where(
                    Ticket.id == verified.ticket_id,
                    Ticket.status == "valid",
                    Ticket.checked_in_at.is_(None),
                )
                .values(checked_in_at=func.now(), checked_in_gate=gate)
                .returning(Ticket.checked_in_at)
            )
        ).scalar_one_or_none()
        if checked_in is not None:
            return ScanAnswer(
                result="accepted",
                message="Welcome in.",
                ticket=found.ticket,
                checked_in_at=checked_in,
                checked_in_gate=gate,
            )
        # The update found nothing to change: read what stopped it, as it is now.
        now = await find_ticket(s, verified)
        assert now is not None
        return _refusal(now)

    async def record_offline(
        self, event_id: uuid.UUID, gate: str, scans: list[OfflineScan]
    ) -> OfflineScansAnswer:
        """Reconcile scans an offline gate made: the earliest scan of a ticket wins, every other
        scan of it is a conflict. Idempotent by scan id: an uploaded batch can be sent again."""
        results: list[OfflineScanAnswer] = []
        async with self._sessions() as s, s.begin():
            for scan in scans:
                first = await claim_scan_id(
                    s, scan.scan_id, scan.code, gate, "offline", scan.scanned_at
                )
                if first is not None:
                    results.append(OfflineScanAnswer.model_validate(first))
                    continue
                answer = await self._answer_offline(s, event_id, gate, scan)
                await finish_scan(s, scan.scan_id, answer)
                results.append(answer)
        return OfflineScansAnswer(
            event_id=event_id,
            results=results,
            accepted=sum(r.result == "accepted" for r in results),
            conflicts=sum(r.result == "conflict" for r in results),
        )

    async def _answer_offline(
        self, s: AsyncSession, event_id: uuid.UUID, gate: str, scan: OfflineScan
    ) -> OfflineScanAnswer:
        scan_id = scan.scan_id
        verified = verify_code(scan.code, self._keys)
        found = None if verified is None else await find_ticket(s, verified, lock=True)
        if verified is None or found is None:
            return OfflineScanAnswer(
                scan_id=scan_id, result="invalid", message="Not a ticket: the code is not ours."
            )
        if verified.event_id != event_id:
            return OfflineScanAnswer(
                scan_id=scan_id,
                result="wrong_event",
                message="A ticket for another event.",
                ticket=found.ticket,
            )
        if found.status != "valid":
            return OfflineScanAnswer(
                scan_id=scan_id,
                result="void",
                message="Void: the order was cancelled or refunded.",
                ticket=found.ticket,
            )
        first_at = found.checked_in_at
        if first_at is not None and first_at <= scan.scanned_at:
            return OfflineScanAnswer(
                scan_id=scan_id,
                result="conflict",
                message="Another scan let this ticket in first.",
                ticket=found.ticket,
                checked_in_at=first_at,
                checked_in_gate=found.checked_in_gate,
            )
        # First scan so far (the row is locked): it wins, and any scan that won before is now
        # the conflict.
        await s.execute(
            update(Ticket)
            .where(Ticket.id == found.ticket.id)
            .values(checked_in_at=scan.scanned_at, checked_in_gate=gate)
        )
        if first_at is not None:
            await mark_displaced(s, found.ticket.id, scan.scanned_at, gate)
        return OfflineScanAnswer(
            scan_id=scan_id,
            result="accepted",
            message="Welcome in.",
            ticket=found.ticket,
            checked_in_at=scan.scanned_at,
            checked_in_gate=gate,
        )


def _refusal(found: Found) -> ScanAnswer:
    if found.status != "valid":
        return ScanAnswer(
            result="void",
            message="Void: the order was cancelled or refunded.",
            ticket=found.ticket,
        )
    where = f" at gate {found.checked_in_gate}" if found.checked_in_gate else ""
    assert found.checked_in_at is not None
    return ScanAnswer(
        result="already_used",
        message=f"Already used{where} at {found.checked_in_at.isoformat(timespec='seconds')}.",
        ticket=found.ticket,
        checked_in_at=found.checked_in_at,
        checked_in_gate=found.checked_in_gate,
    )
