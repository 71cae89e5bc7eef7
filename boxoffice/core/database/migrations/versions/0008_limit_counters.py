"""Per-buyer caps counted at payment under every name a buyer goes by, and unpaid holds per
client network: limit_counters and order_limit_counts replace buyer_event_tickets

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Orders whose tickets count against their buyer's cap from now on: paid, or being paid.
_COUNTED = "('paying', 'paid', 'completed', 'needs_attention')"


def upgrade() -> None:
    op.create_table(
        "limit_counters",
        sa.Column("key", sa.String(length=500), primary_key=True),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint("used >= 0", name="limit_used_nonnegative"),
    )
    op.create_table(
        "order_limit_counts",
        sa.Column("order_id", sa.String(length=64), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("until_paid", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "key"),
        sa.CheckConstraint("amount > 0", name="limit_amount_positive"),
    )
    # Orders counted under the old scheme (one key, holds included) keep counting under that
    # key until they end; unpaid holds stop counting (they were what let a victim's cap be
    # used up), and are counted if and when they are paid.
    op.execute(
        "INSERT INTO order_limit_counts (order_id, key, amount, until_paid)"
        " SELECT o.id, 'event:' || o.event_id || ':' || o.buyer_key, sum(h.quantity), false"
        " FROM orders o JOIN holds h ON h.order_id = o.id AND h.released_at IS NULL"
        f" WHERE o.buyer_key IS NOT NULL AND o.status IN {_COUNTED}"
        " GROUP BY o.id, o.event_id, o.buyer_key"
    )
    op.execute(
        "INSERT INTO limit_counters (key, used)"
        " SELECT key, sum(amount) FROM order_limit_counts GROUP BY key"
    )
    op.drop_table("buyer_event_tickets")


def downgrade() -> None:
    op.create_table(
        "buyer_event_tickets",
        sa.Column("event_id", sa.UUID(), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("buyer_key", sa.String(length=400), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "buyer_key"),
        sa.CheckConstraint("tickets >= 0", name="buyer_tickets_nonnegative"),
    )
    op.execute(
        "INSERT INTO buyer_event_tickets (event_id, buyer_key, tickets)"
        " SELECT o.event_id, o.buyer_key, sum(h.quantity)"
        " FROM orders o JOIN holds h ON h.order_id = o.id AND h.released_at IS NULL"
        " WHERE o.buyer_key IS NOT NULL GROUP BY o.event_id, o.buyer_key"
    )
    op.drop_table("order_limit_counts")
    op.drop_table("limit_counters")
