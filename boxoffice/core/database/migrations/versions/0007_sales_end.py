"""ticket_types.on_sale_until, and event times PostgreSQL stores but Python cannot read refused

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_READABLE = "{column} >= '1900-01-01 00:00+00' AND {column} < '2200-01-01 00:00+00'"


def upgrade() -> None:
    op.add_column("ticket_types", sa.Column("on_sale_until", sa.DateTime(timezone=True)))
    # NOT VALID: new rows are checked; a row written before stays (the listings skip it)
    # rather than failing the upgrade.
    op.execute(
        "ALTER TABLE events ADD CONSTRAINT event_starts_at_readable"
        f" CHECK ({_READABLE.format(column='starts_at')}) NOT VALID"
    )
    op.execute(
        "ALTER TABLE ticket_types ADD CONSTRAINT on_sale_until_readable"
        f" CHECK ({_READABLE.format(column='on_sale_until')})"
    )


def downgrade() -> None:
    op.drop_constraint("on_sale_until_readable", "ticket_types", type_="check")
    op.drop_constraint("event_starts_at_readable", "events", type_="check")
    op.drop_column("ticket_types", "on_sale_until")
