"""The fulfilment activities on the real services (Postgres, S3 on moto, SMTP caught), one
instance of each per test module."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.core.settings import Settings
from boxoffice.devstack.services import MailCatcher
from boxoffice.orders.activities.documents import DocumentActivities
from boxoffice.orders.activities.email import EmailActivities
from boxoffice.orders.activities.tickets import TicketActivities
from boxoffice.orders.tickets.codes import TicketSigner

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

from .steps import PUBLIC_BASE_URL


@pytest.fixture(scope="module")
def signer() -> TicketSigner:
    return TicketSigner(Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def tickets(sessions: async_sessionmaker[AsyncSession], signer: TicketSigner) -> TicketActivities:
    return TicketActivities(sessions, signer)


@pytest.fixture(scope="module")
def storage(
    sessions: async_sessionmaker[AsyncSession], s3_client: S3Client, s3_settings: Settings
) -> DocumentActivities:
    return DocumentActivities(sessions, s3_client, s3_settings.s3_bucket)


@pytest.fixture(scope="module")
def emails(
    sessions: async_sessionmaker[AsyncSession],
    s3_client: S3Client,
    s3_settings: Settings,
    mail: MailCatcher,
) -> EmailActivities:
    return EmailActivities(
        sessions,
        s3_client,
        s3_settings.s3_bucket,
        mail.url,
        "Boxoffice <tickets@boxoffice.test>",
        PUBLIC_BASE_URL,
        b"order-token-secret-for-tests",
    )
