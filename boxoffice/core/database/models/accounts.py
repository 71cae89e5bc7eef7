"""Buyer accounts: who they are, the emailed links that sign them in, and their browser
sessions. Links and sessions are kept by the sha256 of their raw token only, so a copy of the
database signs nobody in."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.database.models.base import Base, now_column


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    # Always the normalised form (`accounts.domain.normalized_email`): the login identity.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # Set the first time a link mailed to `email` is used; guest orders join only after it.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Argon2 (pwdlib); None: the account signs in by emailed links only.
    password_hash: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = now_column()


class AccountLink(Base):
    """An emailed sign-in or verification link: used at most once (`used_at`), until
    `expires_at`."""

    __tablename__ = "account_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (
        CheckConstraint("purpose IN ('sign_in', 'verify')", name="account_link_purpose"),
    )


class AccountSession(Base):
    """A signed-in browser: valid until `expires_at` unless signed out (`revoked_at`)."""

    __tablename__ = "account_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = now_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
