"""What the event-wide runs (cancelling an event, telling its buyers of a new date) have done,
so the API and the CLI show their progress without asking Temporal, and so a run that is
restarted (a killed worker, continue-as-new) does nothing twice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.database.models.base import Base, now_column


class EventCancellation(Base):
    """One per event: who cancelled it and why, how many orders it had open then, and when the
    run that refunds them all finished."""

    __tablename__ = "event_cancellations"

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"), primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    orders_total: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = now_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("status IN ('running', 'done')", name="cancellation_status"),)


class EventRunOrder(Base):
    """What an event-wide run did to one order (refunded, released, told of a new date...),
    and the Message-ID of the email its buyer got: each once per run."""

    __tablename__ = "event_run_orders"

    run_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))
    done_at: Mapped[datetime] = now_column()
