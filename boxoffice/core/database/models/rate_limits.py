"""Request counters of the rate limits, shared by every API process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from boxoffice.core.database.models.base import Base


class RateLimitCounter(Base):
    """One fixed window of requests per limited key (client address, buyer, gate)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hits: Mapped[int] = mapped_column(Integer)
