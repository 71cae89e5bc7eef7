"""Bring a database to the current schema (dev stack, tests, `boxoffice db upgrade`): the
Alembic migrations, then the repeatable SQL.

Repeatable SQL (`CREATE OR REPLACE` of the functions some rules are written in, such as
admission control's `orders/repository/admit.sql`) is applied after every upgrade, in one
transaction: its file is the rule's one home, so changing the rule is an edit of that file
rather than a function body copied into a new migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from boxoffice.core.database.engine import sqlalchemy_url

_INI = Path(__file__).with_name("alembic.ini")
_PACKAGE = Path(__file__).resolve().parents[2]
#: Applied in this order after the migrations, relative to the boxoffice package.
REPEATABLE_SQL = ("orders/repository/admit.sql",)


def alembic_config(database_url: str) -> Config:
    config = Config(str(_INI))
    # Alembic runs synchronously; psycopg 3 serves both modes.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.begin() as connection:
            for name in REPEATABLE_SQL:
                # exec_driver_sql: the body's colons and percent signs are SQL, not parameters.
                connection.exec_driver_sql((_PACKAGE / name).read_text(encoding="utf-8"))
    finally:
        engine.dispose()
