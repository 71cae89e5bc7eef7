"""Tickets and their scans at the gate."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.database.models.base import Base, now_column


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ticket_types.id"))
    code: Mapped[str] = mapped_column(Text, unique=True)
    key_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10), default="valid")
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The gate that let it in, so `already_used` can say where.
    checked_in_gate: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (
        UniqueConstraint("order_id", "position"),
        CheckConstraint("status IN ('valid', 'void')", name="ticket_status"),
    )


class Scan(Base):
    """One scan at a gate, online or uploaded later by an offline gate.

    Keyed by the gate's own scan id, so a gate that retries after a timeout, or uploads the same
    batch twice, gets the first answer back instead of a second check-in attempt."""

    __tablename__ = "scans"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # sha256 of the code, so a scan id reused for another code is told apart from a retry.
    code_sha256: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID, index=True)
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID, index=True)
    gate: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(10))
    result: Mapped[str] = mapped_column(String(20))
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The answer given, returned as it was to a repeated scan id.
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = now_column()

    __table_args__ = (CheckConstraint("source IN ('online', 'offline')", name="scan_source"),)
