"""orders by lower(buyer_email): a verified account joins its address's guest orders (and
support finds a buyer's orders) without reading every order

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_orders_buyer_email_lower"


def upgrade() -> None:
    # Built concurrently, outside the migration's transaction: orders keep being written (a
    # sale may be on) while it builds. An earlier build cut short leaves an invalid index of
    # this name behind; it is dropped and built again.
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name="orders", postgresql_concurrently=True, if_exists=True)
        op.create_index(
            INDEX, "orders", [sa.text("lower(buyer_email)")], postgresql_concurrently=True
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name="orders", postgresql_concurrently=True, if_exists=True)
