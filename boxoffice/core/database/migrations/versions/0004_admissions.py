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


# One call admits every line of an order or none. It runs as a statement of its own
# (autocommit), so the per-type locks are held only while the server runs it, never across a
# round trip to a busy API process. Each statement in a (volatile) function takes a new
# snapshot: the count after the locks sees every admission committed before them.
ADMIT_FUNCTION = """
CREATE FUNCTION boxoffice_admit(
    p_order text, p_types uuid[], p_quantities integer[], p_lease_seconds double precision
) RETURNS TABLE (
    refused_type uuid, refused_event uuid, type_name text, seats_available integer,
    seats_free integer
) LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    line record;
BEGIN
    -- The caller passes the types in id order, so two orders never wait on each other.
    FOR i IN 1 .. coalesce(array_length(p_types, 1), 0) LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('admission:' || p_types[i]::text, 0));
    END LOOP;
    -- Lapsed admissions of orders that never reached their reservation.
    DELETE FROM admissions AS a
    WHERE a.ticket_type_id = ANY (p_types) AND a.expires_at <= now() AND a.order_id <> p_order;
    FOR i IN 1 .. coalesce(array_length(p_types, 1), 0) LOOP
        SELECT t.id, t.event_id, t.name::text AS name, t.available,
               t.available - coalesce((
                   SELECT sum(a.quantity) FROM admissions AS a
                   WHERE a.ticket_type_id = t.id AND a.expires_at > now()
                     AND a.order_id <> p_order
               ), 0)::integer AS free
        INTO line FROM ticket_types AS t WHERE t.id = p_types[i];
        IF NOT FOUND THEN
            RETURN QUERY SELECT p_types[i], NULL::uuid, NULL::text, 0, 0;
            RETURN;
        END IF;
        IF line.free < p_quantities[i] THEN
            RETURN QUERY SELECT line.id, line.event_id, line.name, line.available, line.free;
            RETURN;
        END IF;
    END LOOP;
    INSERT INTO admissions AS a (order_id, ticket_type_id, quantity, expires_at)
    SELECT p_order, u.type_id, u.quantity, now() + make_interval(secs => p_lease_seconds)
    FROM unnest(p_types, p_quantities) AS u (type_id, quantity)
    ON CONFLICT (order_id, ticket_type_id) DO UPDATE
        SET quantity = excluded.quantity, expires_at = excluded.expires_at;
END
$$
"""


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
    op.execute(ADMIT_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION boxoffice_admit(text, uuid[], integer[], double precision)")
    op.drop_index("ix_admissions_ticket_type_expires", table_name="admissions")
    op.drop_table("admissions")
