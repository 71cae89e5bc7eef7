"""The declarative base every table derives from, and what tables share."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def now_column() -> Mapped[datetime]:
    """A timestamp column the database fills in when the row is written."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Base(DeclarativeBase):
    pass


#: Times Python reads back from PostgreSQL, with room to spare: the API refuses others, the
#: tables' checks keep them out, and listings skip any row from before those checks.
READABLE_FROM = datetime(1900, 1, 1, tzinfo=UTC)
READABLE_UNTIL = datetime(2200, 1, 1, tzinfo=UTC)
