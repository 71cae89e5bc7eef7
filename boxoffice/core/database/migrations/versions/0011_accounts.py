"""Buyer accounts: the account (email unique in its normalised form, verified when a mailed
link is used, an optional Argon2 password), its single-use emailed links and its browser
sessions, both kept by the sha256 of their token

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at",
        sa.DateTime(timezone=True),
        server_default=sa.text("now()"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200)),
        sa.Column("email_verified_at", sa.DateTime(timezone=True)),
        sa.Column("password_hash", sa.String(length=300)),
        _created_at(),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "account_links",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column("account_id", sa.UUID(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        _created_at(),
        sa.CheckConstraint("purpose IN ('sign_in', 'verify')", name="account_link_purpose"),
    )
    op.create_index(op.f("ix_account_links_account_id"), "account_links", ["account_id"])
    op.create_table(
        "account_sessions",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column("account_id", sa.UUID(), sa.ForeignKey("accounts.id"), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index(op.f("ix_account_sessions_account_id"), "account_sessions", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_account_sessions_account_id"), table_name="account_sessions")
    op.drop_table("account_sessions")
    op.drop_index(op.f("ix_account_links_account_id"), table_name="account_links")
    op.drop_table("account_links")
    op.drop_table("accounts")
