"""orders.tickets_voided_at: once an order's tickets are voided, none may be issued again

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("tickets_voided_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("orders", "tickets_voided_at")
