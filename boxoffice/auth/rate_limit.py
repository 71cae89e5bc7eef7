"""Fixed-window request counters in PostgreSQL, shared by every API process.

One upsert per check: the window restarts when it has passed, else the count grows by one. A
caller over its limit gets how long until its window ends, for `Retry-After`."""

from __future__ import annotations

import asyncio
import logging
import math

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

_HIT = text(
    """
    INSERT INTO rate_limit_counters AS c (key, window_start, hits) VALUES (:key, now(), 1)
    ON CONFLICT (key) DO UPDATE SET
        window_start = CASE WHEN c.window_start <= now() - make_interval(secs => :window)
                            THEN now() ELSE c.window_start END,
        hits = CASE WHEN c.window_start <= now() - make_interval(secs => :window)
                    THEN 1 ELSE c.hits + 1 END
    RETURNING hits,
        extract(epoch FROM window_start + make_interval(secs => :window) - now())
    """
)
log = logging.getLogger("boxoffice.rate_limit")
_FORGET = text(
    "DELETE FROM rate_limit_counters WHERE window_start < now() - make_interval(secs => :keep)"
)


class RateLimiter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], window_seconds: int) -> None:
        self._sessions = sessions
        self._window = window_seconds

    async def hit(self, key: str, limit: int) -> int | None:
        """Count one request under `key`; None if within `limit`, else seconds to wait.

        A limit of 0 counts nothing (the limit is off), so a disabled limit costs no query."""
        if limit <= 0:
            return None
        async with self._sessions() as s, s.begin():
            hits, remaining = (
                await s.execute(_HIT, {"key": key[:200], "window": self._window})
            ).one()
        if hits <= limit:
            return None
        return max(1, math.ceil(float(remaining)))

    async def forget_old(self) -> None:
        """Drop counters whose window ended long ago, so the table stays small."""
        async with self._sessions() as s, s.begin():
            await s.execute(_FORGET, {"keep": self._window * 2})

    async def forget_old_forever(self, every_seconds: float = 300) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await self.forget_old()
            except Exception:  # the database may be away for a while; try again later
                log.warning("could not forget old rate limit counters", exc_info=True)
