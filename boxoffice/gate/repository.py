"""The gate's SQL: tickets as a gate sees them, and the scans recorded under each gate's scan id
(`checkin.py` holds the rules that use them)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import Scan, Ticket, TicketType
from boxoffice.gate.results import OfflineScanAnswer, ScanAnswer, TicketAtGate
from boxoffice.orders.tickets.codes import VerifiedCode


class ScanIdReused(Exception):
    """A scan id came back with another code: a gate bug, not a retry."""


@dataclass(frozen=True)
class Found:
    ticket: TicketAtGate
    status: str
    checked_in_at: datetime | None
    checked_in_gate: str | None


async def find_ticket(s: AsyncSession, code: VerifiedCode, lock: bool = False) -> Found | None:
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
    return Found(
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


async def claim_scan_id(
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


async def finish_scan(
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


async def mark_displaced(
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
