"""Letting a ticket in: online scans answered now, offline scans reconciled when uploaded.

Every scan is recorded under the gate's scan id before anything else happens. A second request
with the same id waits on that row's insert and then returns the first answer, so a gate that
retries after a timeout never sees its own check-in as `already_used`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.core.database.models import Scan, Ticket, TicketType
from boxoffice.gate.results import (
    OfflineScan,
    OfflineScanAnswer,
    OfflineScansAnswer,
    ScanAnswer,
    TicketAtGate,
)
from boxoffice.orders.tickets.codes import VerifiedCode, verify_code


class ScanIdReused(Exception):
    """A scan id came back with another code: a gate bug, not a retry."""


@dataclass(frozen=True)
class _Found:
    ticket: TicketAtGate
    status: str
    checked_in_at: datetime | None
    checked_in_gate: str | None


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
                first = await _claim_scan_id(s, scan_id, code, gate, "online", None)
                if first is not None:
                    return ScanAnswer.model_validate(first)
            answer = await self._answer_online(s, code, gate, event_id)
            if scan_id is not None:
                await _finish_scan(s, scan_id, answer)
        return answer

    async def _answer_online(
        self, s: AsyncSession, code: str, gate: str | None, event_id: uuid.UUID | None
    ) -> ScanAnswer:
        verified = verify_code(code, self._keys)
        if verified is None:
            return ScanAnswer(result="invalid", message="Not a ticket: the code is not ours.")
        found = await _find_ticket(s, verified)
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
        now = await _find_ticket(s, verified)
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
                first = await _claim_scan_id(
                    s, scan.scan_id, scan.code, gate, "offline", scan.scanned_at
                )
                if first is not None:
                    results.append(OfflineScanAnswer.model_validate(first))
                    continue
                answer = await self._answer_offline(s, event_id, gate, scan)
                await _finish_scan(s, scan.scan_id, answer)
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
        found = None if verified is None else await _find_ticket(s, verified, lock=True)
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
            await _mark_displaced(s, found.ticket.id, scan.scanned_at, gate)
        return OfflineScanAnswer(
            scan_id=scan_id,
            result="accepted",
            message="Welcome in.",
            ticket=found.ticket,
            checked_in_at=scan.scanned_at,
            checked_in_gate=gate,
        )


def _refusal(found: _Found) -> ScanAnswer:
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


async def _find_ticket(s: AsyncSession, code: VerifiedCode, lock: bool = False) -> _Found | None:
    query = (
        select(Ticket, TicketType.name, TicketType.event_id)
        .join(TicketType, TicketType.id == Ticket.ticket_type_id)
        .where(Ticket.id == code.ticket_id)
    )
    if lock:
        query = query.with_for_update(of=Ticket)
    row = (await s.execute(query)).one_or_none()
    # A code signed for one event naming a ticket of another cannot come from us: not a ticket.
    if row is None or row[2] != code.event_id:
        return None
    ticket, type_name, event_id = row
    return _Found(
        ticket=TicketAtGate(
            id=ticket.id,
            event_id=event_id,
            ticket_type_id=ticket.ticket_type_id,
            ticket_type=type_name,
            position=ticket.position,
        ),
        status=ticket.status,
        checked_in_at=ticket.checked_in_at,
        checked_in_gate=ticket.checked_in_gate,
    )


async def _claim_scan_id(
    s: AsyncSession,
    scan_id: str,
    code: str,
    gate: str | None,
    source: str,
    scanned_at: datetime | None,
) -> dict[str, Any] | None:
    """Record the scan id, or return the answer already given to it.

    A concurrent request with the same id blocks on this insert until the first commits, then
    reads its final answer."""
    digest = hashlib.sha256(code.encode()).hexdigest()
    claimed = (
        await s.execute(
            insert(Scan)
            .values(
                id=scan_id,
                code_sha256=digest,
                gate=gate,
                source=source,
                result="pending",
                scanned_at=scanned_at if scanned_at is not None else func.now(),
                response={},
            )
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(Scan.id)
        )
    ).scalar_one_or_none()
    if claimed is not None:
        return None
    first = (await s.execute(select(Scan).where(Scan.id == scan_id))).scalar_one()
    if first.code_sha256 != digest:
        raise ScanIdReused(f"scan id {scan_id!r} was already used for another code")
    return first.response


async def _finish_scan(
    s: AsyncSession, scan_id: str, answer: ScanAnswer | OfflineScanAnswer
) -> None:
    ticket = answer.ticket
    await s.execute(
        update(Scan)
        .where(Scan.id == scan_id)
        .values(
            result=answer.result,
            ticket_id=ticket.id if ticket else None,
            event_id=ticket.event_id if ticket else None,
            response=answer.model_dump(mode="json"),
        )
    )


async def _mark_displaced(
    s: AsyncSession, ticket_id: uuid.UUID, scanned_at: datetime, gate: str
) -> None:
    """An earlier offline scan arrived late: the scans that let the ticket in before it are now
    conflicts. An offline scan's recorded answer changes with it (a re-upload gets the truth);
    an online scan keeps the answer its gate was given, which a retry must see again."""
    displaced = (
        await s.scalars(select(Scan).where(Scan.ticket_id == ticket_id, Scan.result == "accepted"))
    ).all()
    for scan in displaced:
        scan.result = "conflict"
        if scan.source == "offline":
            scan.response = scan.response | {
                "result": "conflict",
                "message": "Another scan let this ticket in first.",
                "checked_in_at": scanned_at.isoformat(),
                "checked_in_gate": gate,
            }
