"""access and abuse: order owners, per-buyer ticket caps, webhook dedupe, rate limit counters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("owner_sub", sa.String(length=200), nullable=True))
    op.add_column("orders", sa.Column("buyer_key", sa.String(length=400), nullable=True))
    op.create_index(op.f("ix_orders_owner_sub"), "orders", ["owner_sub"], unique=False)
    op.create_table(
        "buyer_event_tickets",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("buyer_key", sa.String(length=400), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.CheckConstraint("tickets >= 0", name="buyer_tickets_nonnegative"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("event_id", "buyer_key"),
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_counters")
    op.drop_table("stripe_events")
    op.drop_table("buyer_event_tickets")
    op.drop_index(op.f("ix_orders_owner_sub"), table_name="orders")
    op.drop_column("orders", "buyer_key")
    op.drop_column("orders", "owner_sub")
