"""An event's whole life: draft .. over, description and end, sales windows and hidden types,
organisers' changes in the audit log, event cancellations and postponements with what each
did to every order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "('draft', 'on_sale', 'sales_closed', 'postponed', 'cancelled', 'over')"


def upgrade() -> None:
    op.add_column("events", sa.Column("description", sa.Text()))
    op.add_column("events", sa.Column("ends_at", sa.DateTime(timezone=True)))
    op.drop_constraint("event_status", "events", type_="check")
    op.create_check_constraint("event_status", "events", f"status IN {_STATUSES}")
    op.create_check_constraint(
        "event_ends_after_start", "events", "ends_at IS NULL OR ends_at > starts_at"
    )
    op.add_column("ticket_types", sa.Column("on_sale_from", sa.DateTime(timezone=True)))
    op.add_column(
        "ticket_types",
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.create_check_constraint(
        "sales_window_opens_first",
        "ticket_types",
        "on_sale_from IS NULL OR on_sale_until IS NULL OR on_sale_from < on_sale_until",
    )
    op.add_column("audit_log", sa.Column("event_id", sa.UUID()))
    op.add_column("audit_log", sa.Column("changes", postgresql.JSONB()))
    op.create_index(op.f("ix_audit_log_event_id"), "audit_log", ["event_id"])
    op.add_column(
        "events",
        sa.Column("postponements", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.create_table(
        "event_cancellations",
        sa.Column("event_id", sa.UUID(), sa.ForeignKey("events.id"), primary_key=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("orders_total", sa.Integer(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('running', 'done')", name="cancellation_status"),
    )
    op.create_table(
        "event_run_orders",
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("order_id", sa.String(length=64), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("message_id", sa.String(length=300)),
        sa.Column(
            "done_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("run_id", "order_id"),
    )


def downgrade() -> None:
    op.drop_table("event_run_orders")
    op.drop_table("event_cancellations")
    op.drop_column("events", "postponements")
    op.drop_index(op.f("ix_audit_log_event_id"), table_name="audit_log")
    op.drop_column("audit_log", "changes")
    op.drop_column("audit_log", "event_id")
    op.drop_constraint("sales_window_opens_first", "ticket_types", type_="check")
    op.drop_column("ticket_types", "hidden")
    op.drop_column("ticket_types", "on_sale_from")
    op.drop_constraint("event_ends_after_start", "events", type_="check")
    op.drop_constraint("event_status", "events", type_="check")
    op.create_check_constraint("event_status", "events", "status IN ('on_sale', 'cancelled')")
    op.drop_column("events", "ends_at")
    op.drop_column("events", "description")
