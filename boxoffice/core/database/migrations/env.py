"""Alembic environment: runs migrations on the URL given by `boxoffice.core.database.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from boxoffice.core.database.models import Base

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is set by boxoffice.core.database.migrate"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
