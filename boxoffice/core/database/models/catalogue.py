"""Events and their ticket types: what is on sale."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.database.models.base import Base, now_column
from boxoffice.events.domain import EventStatus


class Event(Base):
    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default=EventStatus.ON_SALE)
    # How often it was postponed (each postponement's run has its own id).
    postponements: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Buyers may cancel a paid order until this many hours before the start.
    refund_cutoff_hours: Mapped[int] = mapped_column(Integer, default=48)
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in EventStatus) + ")", name="event_status"
        ),
        CheckConstraint(
            "starts_at >= '1900-01-01 00:00+00' AND starts_at < '2200-01-01 00:00+00'",
            name="event_starts_at_readable",
        ),
        CheckConstraint("refund_cutoff_hours >= 0", name="refund_cutoff_nonnegative"),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="event_ends_after_start"),
    )


class TicketType(Base):
    __tablename__ = "ticket_types"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    capacity: Mapped[int] = mapped_column(Integer)
    available: Mapped[int] = mapped_column(Integer)
    # Sales of this type open then; None: at once (events/domain.py).
    on_sale_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Sales of this type end then; None: when the event starts.
    on_sale_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Not listed and not sold (a tier replaced by the next).
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    __table_args__ = (
        UniqueConstraint("event_id", "name"),
        CheckConstraint("price >= 0", name="price_nonnegative"),
        CheckConstraint("available >= 0 AND available <= capacity", name="available_in_range"),
        CheckConstraint(
            "on_sale_until >= '1900-01-01 00:00+00' AND on_sale_until < '2200-01-01 00:00+00'",
            name="on_sale_until_readable",
        ),
        CheckConstraint(
            "on_sale_from IS NULL OR on_sale_until IS NULL OR on_sale_from < on_sale_until",
            name="sales_window_opens_first",
        ),
    )


class Addon(Base):
    """A product sold with an event's tickets (parking, merchandise, a drink voucher): its own
    stock, price and per-order limit. Stock moves only by conditional SQL, as seats do."""

    __tablename__ = "addons"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(Integer)
    available: Mapped[int] = mapped_column(Integer)
    max_per_order: Mapped[int] = mapped_column(Integer)
    # Not listed and not sold.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (
        UniqueConstraint("event_id", "name"),
        CheckConstraint("price >= 0", name="addon_price_nonnegative"),
        CheckConstraint("available >= 0 AND available <= stock", name="addon_available_in_range"),
        CheckConstraint("max_per_order >= 1", name="addon_max_per_order_positive"),
    )
