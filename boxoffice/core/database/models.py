"""Tables. Postgres is the read model the API serves; activities move it forward."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from boxoffice.events.domain import EventStatus
from boxoffice.orders.domain import ROW_STATUSES


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Base(DeclarativeBase):
    pass


#: Times Python reads back from PostgreSQL, with room to spare: the API refuses others, the
#: tables' checks keep them out, and listings skip any row from before those checks.
READABLE_FROM = datetime(1900, 1, 1, tzinfo=UTC)
READABLE_UNTIL = datetime(2200, 1, 1, tzinfo=UTC)


class Event(Base):
    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default=EventStatus.ON_SALE)
    # Buyers may cancel a paid order until this many hours before the start.
    refund_cutoff_hours: Mapped[int] = mapped_column(Integer, default=48)
    created_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in EventStatus) + ")", name="event_status"
        ),
        CheckConstraint(
            "starts_at >= '1900-01-01 00:00+00' AND starts_at < '2200-01-01 00:00+00'",
            name="event_starts_at_readable",
        ),
        CheckConstraint("refund_cutoff_hours >= 0", name="refund_cutoff_nonnegative"),
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
    # Sales of this type end then; None: when the event starts (events/domain.py).
    on_sale_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("event_id", "name"),
        CheckConstraint("price >= 0", name="price_nonnegative"),
        CheckConstraint("available >= 0 AND available <= capacity", name="available_in_range"),
        CheckConstraint(
            "on_sale_until >= '1900-01-01 00:00+00' AND on_sale_until < '2200-01-01 00:00+00'",
            name="on_sale_until_readable",
        ),
    )


class Admission(Base):
    """Seats a buyer was let ask for while the order's workflow reserves them.

    Admission control counts these against the seats left, so a flash sale starts only as many
    workflows as there are seats and refuses everyone else at once. The reservation (taken or
    refused) deletes its order's rows in its own transaction; rows of an order that never got
    that far (its API process died) stop counting at `expires_at`."""

    __tablename__ = "admissions"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id"), primary_key=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("quantity > 0", name="admission_quantity_positive"),
        Index("ix_admissions_ticket_type_expires", "ticket_type_id", "expires_at"),
    )


class Order(Base):
    __tablename__ = "orders"

    # Equal to the workflow id.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"), index=True)
    buyer_email: Mapped[str] = mapped_column(String(320), index=True)
    buyer_name: Mapped[str] = mapped_column(String(200))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    total_amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), index=True)
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Hash of the create request, so a reused Idempotency-Key with another body is refused.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    tickets_pdf_key: Mapped[str | None] = mapped_column(String(300))
    # Set when the order's tickets were voided (a refund): an issue attempt that outlived its
    # timeout and commits later must not bring valid tickets back.
    tickets_voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The account (token subject) that created it; None for a guest order.
    owner_sub: Mapped[str | None] = mapped_column(String(200), index=True)
    # Who the buyer is for limits: `sub:...`, or `email:` and the normalised mailbox.
    buyer_key: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in ROW_STATUSES) + ")",
            name="order_status",
        ),
    )


class Hold(Base):
    """Seats taken for an order, one row per ticket type. Released at most once."""

    __tablename__ = "holds"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id"), primary_key=True, index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("quantity > 0", name="hold_quantity_positive"),)


class PaymentAttempt(Base):
    """One PaymentIntent per attempt, recorded before it is confirmed."""

    __tablename__ = "payment_attempts"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(30))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class Refund(Base):
    """At most one refund per order: the row is written before Stripe is asked."""

    __tablename__ = "refunds"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(String(100))
    stripe_refund_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class StrayRefund(Base):
    """A payment that succeeded for an order that does not keep it (it paid with another
    PaymentIntent, or had ended): refunded whole, once per PaymentIntent."""

    __tablename__ = "stray_refunds"

    payment_intent_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


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
    created_at: Mapped[datetime] = _now()

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
    recorded_at: Mapped[datetime] = _now()

    __table_args__ = (CheckConstraint("source IN ('online', 'offline')", name="scan_source"),)


class Email(Base):
    """Each message sent, keyed by its Message-ID, so delivery counts are exact."""

    __tablename__ = "emails"

    message_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str] = mapped_column(String(320))
    sent_at: Mapped[datetime] = _now()


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()


class LimitCounter(Base):
    """How much of a limit one key has used: a buyer's paid tickets for an event, or a client
    network's unpaid ones (`db/buyer_limits.py`). Moved only by conditional updates."""

    __tablename__ = "limit_counters"

    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    used: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("used >= 0", name="limit_used_nonnegative"),)


class OrderLimitCount(Base):
    """One order's share of one limit counter, so counting and letting go happen once."""

    __tablename__ = "order_limit_counts"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)
    # True: the unpaid-holds count of its client network, let go once the order is paid.
    until_paid: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (CheckConstraint("amount > 0", name="limit_amount_positive"),)


class StripeEvent(Base):
    """Stripe webhook events already acted on: a redelivered event changes nothing again."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = _now()


class RateLimitCounter(Base):
    """One fixed window of requests per limited key (client address, buyer, gate)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hits: Mapped[int] = mapped_column(Integer)
