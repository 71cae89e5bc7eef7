"""Session-wide embedded services for integration tests that need one or two of them (the whole
stack is `tests/conftest.py`'s `stack`): each starts once, on free ports and in
temporary directories, and is stopped when the session ends. Tests share them, so each test
uses its own rows (fresh ids), bucket keys and Message-IDs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from boxoffice.core.database.engine import sqlalchemy_url
from boxoffice.core.database.migrate import upgrade
from boxoffice.core.s3 import ensure_bucket, make_s3_client
from boxoffice.core.settings import Settings
from boxoffice.devstack import services

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TEST_BUCKET = "boxoffice-test-tickets"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Embedded PostgreSQL, migrated to head; its data directory is deleted at the end."""
    with services.postgres(tmp_path_factory.mktemp("postgres") / "data") as url:
        upgrade(url)
        yield url


@pytest_asyncio.fixture(scope="session")
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(sqlalchemy_url(database_url), pool_size=5)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def s3_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """moto's S3 server, and settings pointing at it (with the dummy credentials it accepts)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.delenv("AWS_PROFILE", raising=False)
        log_file = tmp_path_factory.mktemp("moto") / "moto.log"
        with services.moto_s3(log_file=log_file) as endpoint:
            yield Settings(_env_file=None, s3_endpoint_url=endpoint, s3_bucket=TEST_BUCKET)


@pytest.fixture(scope="session")
def s3_client(s3_settings: Settings) -> S3Client:
    client = make_s3_client(s3_settings)
    ensure_bucket(client, s3_settings.s3_bucket)
    return client


@pytest.fixture(scope="session")
def mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.MailCatcher]:
    """An SMTP catcher keeping every message in memory (and as .eml files in a temp dir)."""
    with services.mail_catcher(None, tmp_path_factory.mktemp("mail")) as catcher:
        yield catcher
