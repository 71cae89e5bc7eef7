"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from boxoffice.core.database.engine import sqlalchemy_url
from boxoffice.core.database.models import Base
from tests.conftest import Services


def test_migrated_database_matches_the_models(embedded_services: Services) -> None:
    engine = create_engine(sqlalchemy_url(embedded_services.database_url))
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], diff
