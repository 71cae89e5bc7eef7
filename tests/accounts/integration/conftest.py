"""The account service on the real PostgreSQL and an SMTP catcher, one per test module."""

from __future__ import annotations

import pytest
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.accounts.passwords import Passwords
from boxoffice.accounts.service import AccountService
from boxoffice.core.settings import Settings
from boxoffice.devstack.services import MailCatcher

from .steps import BASE


@pytest.fixture(scope="module")
def service(sessions: async_sessionmaker[AsyncSession], mail: MailCatcher) -> AccountService:
    settings = Settings(
        _env_file=None,
        smtp_url=mail.url,
        public_base_url=BASE,
        mail_from="Boxoffice <tickets@boxoffice.test>",
    )
    # Cheap Argon2 parameters: the same rules, fast on a shared machine.
    hasher = Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1)
    return AccountService(sessions, settings, Passwords(hasher))
