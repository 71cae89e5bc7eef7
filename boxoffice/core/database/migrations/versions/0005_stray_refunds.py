"""stray_refunds: payments an order did not keep, refunded once per PaymentIntent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stray_refunds",
        sa.Column("payment_intent_id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("stripe_refund_id", sa.String(length=100), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("payment_intent_id"),
        sa.UniqueConstraint("stripe_refund_id"),
    )
    op.create_index("ix_stray_refunds_order_id", "stray_refunds", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_stray_refunds_order_id", table_name="stray_refunds")
    op.drop_table("stray_refunds")
