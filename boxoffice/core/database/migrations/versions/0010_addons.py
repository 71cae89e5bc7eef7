"""Add-ons sold with an event's tickets (parking, merchandise, vouchers): their stock, and what
each order holds of them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "addons",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("event_id", sa.UUID(), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("max_per_order", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.UniqueConstraint("event_id", "name"),
        sa.CheckConstraint("price >= 0", name="addon_price_nonnegative"),
        sa.CheckConstraint(
            "available >= 0 AND available <= stock", name="addon_available_in_range"
        ),
        sa.CheckConstraint("max_per_order >= 1", name="addon_max_per_order_positive"),
    )
    op.create_index(op.f("ix_addons_event_id"), "addons", ["event_id"])
    op.create_table(
        "addon_holds",
        sa.Column("order_id", sa.String(length=64), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("addon_id", sa.UUID(), sa.ForeignKey("addons.id"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("order_id", "addon_id"),
        sa.CheckConstraint("quantity > 0", name="addon_hold_quantity_positive"),
    )
    op.create_index(op.f("ix_addon_holds_addon_id"), "addon_holds", ["addon_id"])
    op.add_column(
        "orders",
        sa.Column(
            "addons",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
    )


def downgrade() -> None:
    op.drop_column("orders", "addons")
    op.drop_index(op.f("ix_addon_holds_addon_id"), table_name="addon_holds")
    op.drop_table("addon_holds")
    op.drop_index(op.f("ix_addons_event_id"), table_name="addons")
    op.drop_table("addons")
