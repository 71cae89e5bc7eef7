"""Orders and what hangs off them: holds, admissions, payments, refunds, the emails sent, and
the limits an order counts against."""

from __future__ import annotations

import uuid
from datetime import datetime
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
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.database.models.base import Base, now_column
from boxoffice.orders.domain import ROW_STATUSES


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
    # Add-on lines, as items: addon_id, name, quantity, unit_price.
    addons: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
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
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()

    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in ROW_STATUSES) + ")",
            name="order_status",
        ),
        # A verified account's guest orders are joined by address, case-insensitively.
        Index("ix_orders_buyer_email_lower", text("lower(buyer_email)")),
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
    created_at: Mapped[datetime] = now_column()
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("quantity > 0", name="hold_quantity_positive"),)


class AddonHold(Base):
    """Add-ons taken for an order, one row per add-on, with what each cost it. Released at
    most once, with the order's seats."""

    __tablename__ = "addon_holds"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    addon_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("addons.id"), primary_key=True, index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = now_column()
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("quantity > 0", name="addon_hold_quantity_positive"),)


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
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()


class Refund(Base):
    """At most one refund per order: the row is written before Stripe is asked."""

    __tablename__ = "refunds"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(String(100))
    stripe_refund_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()


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
    created_at: Mapped[datetime] = now_column()
    updated_at: Mapped[datetime] = now_column()


class Email(Base):
    """Each message sent, keyed by its Message-ID, so delivery counts are exact."""

    __tablename__ = "emails"

    message_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str] = mapped_column(String(320))
    sent_at: Mapped[datetime] = now_column()


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
    received_at: Mapped[datetime] = now_column()
