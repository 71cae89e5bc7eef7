"""admissions: seats let through admission control while their reservation is decided

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admissions",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("ticket_type_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name="admission_quantity_positive"),
        sa.ForeignKeyConstraint(["ticket_type_id"], ["ticket_types.id"]),
        sa.PrimaryKeyConstraint("order_id", "ticket_type_id"),
    )
    op.create_index(
        "ix_admissions_ticket_type_expires",
        "admissions",
        ["ticket_type_id", "expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_admissions_ticket_type_expires", table_name="admissions")
    op.drop_table("admissions")
