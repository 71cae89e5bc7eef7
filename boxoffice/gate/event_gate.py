"""An event's view from the door: the bundle an offline gate works from, and check-in counts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import Order, Scan, Ticket, TicketType
from boxoffice.gate.results import CheckinCounts, GateBundle, GateKey, TicketTypeCheckins
from boxoffice.orders.tickets.codes import public_key_pem


async def gate_bundle(
    s: AsyncSession, event_id: uuid.UUID, public_keys: Mapping[str, Ed25519PublicKey]
) -> GateBundle:
    """Public keys, voided and checked-in tickets of one event.

    The version counts voids plus check-ins: neither is ever undone, so it only grows, and a
    gate can tell a newer bundle from an older one by comparing two numbers."""
    rows = (
        await s.execute(
            select(Ticket.id, Ticket.status, Ticket.checked_in_at)
            .join(Order, Order.id == Ticket.order_id)
            .where(Order.event_id == event_id)
            .where((Ticket.status == "void") | Ticket.checked_in_at.is_not(None))
            .order_by(Ticket.id)
        )
    ).all()
    void = [row.id for row in rows if row.status == "void"]
    checked_in = [row.id for row in rows if row.checked_in_at is not None]
    return GateBundle(
        event_id=event_id,
        version=len(void) + len(checked_in),
        generated_at=datetime.now(UTC),
        keys=[
            GateKey(key_id=key_id, public_key=public_key_pem(key))
            for key_id, key in sorted(public_keys.items())
        ],
        void_ticket_ids=void,
        checked_in_ticket_ids=checked_in,
    )


async def checkin_counts(s: AsyncSession, event_id: uuid.UUID) -> CheckinCounts:
    """Valid and checked-in tickets per ticket type (every type, sold or not), voids and
    offline conflicts."""
    valid = Ticket.status == "valid"
    per_type = (
        await s.execute(
            select(
                TicketType.id,
                TicketType.name,
                func.count(Ticket.id).filter(valid),
                func.count(Ticket.id).filter(valid & Ticket.checked_in_at.is_not(None)),
                func.count(Ticket.id).filter(Ticket.status == "void"),
            )
            .outerjoin(Ticket, Ticket.ticket_type_id == TicketType.id)
            .where(TicketType.event_id == event_id)
            .group_by(TicketType.id, TicketType.name)
            .order_by(TicketType.price, TicketType.name)
        )
    ).all()
    conflicts = await s.scalar(
        select(func.count())
        .select_from(Scan)
        .where(Scan.event_id == event_id, Scan.result == "conflict")
    )
    types = [
        TicketTypeCheckins(ticket_type_id=row[0], name=row[1], valid=row[2], checked_in=row[3])
        for row in per_type
    ]
    return CheckinCounts(
        event_id=event_id,
        valid=sum(t.valid for t in types),
        checked_in=sum(t.checked_in for t in types),
        void=sum(row[4] for row in per_type),
        conflicts=conflicts or 0,
        ticket_types=types,
    )
