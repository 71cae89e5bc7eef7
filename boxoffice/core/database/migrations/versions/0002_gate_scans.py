"""gate scans: who let a ticket in, and every scan by its scan id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("checked_in_gate", sa.String(length=100), nullable=True))
    op.create_table(
        "scans",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=True),
        sa.Column("event_id", sa.UUID(), nullable=True),
        sa.Column("gate", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("source IN ('online', 'offline')", name="scan_source"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_scans_ticket_id"), "scans", ["ticket_id"], unique=False)
    op.create_index(op.f("ix_scans_event_id"), "scans", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_scans_event_id"), table_name="scans")
    op.drop_index(op.f("ix_scans_ticket_id"), table_name="scans")
    op.drop_table("scans")
    op.drop_column("tickets", "checked_in_gate")
