"""The integration harness: every embedded service on free ports in temporary directories,
the API over real HTTP (uvicorn in a thread) and worker pools in the test loop.

Session-scoped and started only by tests that ask for it, so unit and workflow tests stay fast,
and `make test` runs beside a running `make dev`. Everything started here is stopped here."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from boxoffice.app import create_app
from boxoffice.auth.tokens import mint_token
from boxoffice.core.database.engine import create_engine, session_factory
from boxoffice.core.database.migrate import upgrade
from boxoffice.core.settings import ABUSE_LIMITS_OFF, Settings
from boxoffice.core.temporal.client import connect
from boxoffice.devstack import services, stripe_emulator
from boxoffice.devstack.ports import free_port
from boxoffice.worker import QUEUE_KINDS, build_workers, running

WEBHOOK_SECRET = "whsec_boxoffice_tests"
pytest_plugins = ["tests.service_fixtures", "tests.commands"]

#: Test tiers, each a folder name inside a domain's tests (tests/orders/workflow/...) and a
#: marker of the same name: `pytest -m workflow` runs one tier across every domain.
TIERS = ("unit", "workflow", "replay", "integration", "chaos", "bench", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = set(Path(str(item.path)).parts)
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


@dataclass
class Services:
    database_url: str
    temporal_address: str
    stripe_base: str
    s3_endpoint: str
    mail: services.MailCatcher
    tmp: Path


@dataclass
class Stack:
    """A running system: settings, the API's URL, and handles for checking its effects."""

    settings: Settings
    services: Services
    api_url: str
    temporal: Client
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    def http(
        self, timeout: float = 60, *, token: str | Literal["staff"] | None = "staff"
    ) -> httpx.AsyncClient:
        """A client of the API; by default with a token of every staff role (so a test about
        something else sees everything), `token=None` for an anonymous one."""
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
        if token == "staff":
            token = self.token("test-staff", "admin", "support", "gate")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            base_url=self.api_url,
            timeout=timeout,
            limits=limits,
            trust_env=False,
            headers=headers,
        )

    def token(self, subject: str, *roles: str) -> str:
        return mint_token(self.settings, subject, roles)

    @contextlib.contextmanager
    def other_api(self, **changes: object) -> Iterator[Stack]:
        """The same system with a second API process whose settings differ (e.g. the create
        path before RESERVE_IN_API: `reserve_in_api=False`)."""
        settings = self.settings.model_copy(update=changes)
        with ApiServer(settings) as api:
            yield replace(self, settings=settings, api_url=api.url)


@pytest.fixture(scope="session")
def embedded_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    tmp = tmp_path_factory.mktemp("stack")
    # moto accepts any credentials, but boto3 wants some.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with contextlib.ExitStack() as stack:
        pg_parent = stack.enter_context(services.scratch_dir("boxoffice-test-pg-"))
        database_url = stack.enter_context(services.postgres(pg_parent / "data"))
        temporal = stack.enter_context(services.temporal(log_file=tmp / "temporal.log"))
        stripe_base = stack.enter_context(stripe_emulator.localstripe(log_file=tmp / "stripe.log"))
        s3 = stack.enter_context(services.moto_s3(log_file=tmp / "moto.log"))
        mail = stack.enter_context(services.mail_catcher(None, tmp / "mail"))
        upgrade(database_url)
        yield Services(database_url, temporal, stripe_base, s3, mail, tmp)


def stack_settings(found: Services, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": found.tmp / "data",
        "database_url": found.database_url,
        "db_pool_size": 10,
        "db_max_overflow": 10,
        "temporal_address": found.temporal_address,
        "stripe_api_base": found.stripe_base,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "s3_endpoint_url": found.s3_endpoint,
        "s3_bucket": "boxoffice-test-tickets",
        "smtp_url": found.mail.url,
        "ticket_signing_key_file": found.tmp / "ticket-signing-key.pem",
        "reservation_wait_seconds": 20,
        "payment_timeout_seconds": 15,
        "step_timeout_seconds": 20,
        "step_max_attempts": 3,
        "retry_initial_interval_seconds": 0.2,
        "retry_max_interval_seconds": 1,
        "order_grace_seconds": 60,
        "auth_secret": "test-auth-secret-of-32-bytes-at-least",
        "order_token_secret": "test-order-token-secret",
        # Off: tests read seats left right after they change (test_catalogue.py turns it on).
        "catalogue_cache_seconds": 0,
        # Off here: tests buy hundreds of orders from one address and one buyer. The tests of
        # the limits themselves turn them on.
        **ABUSE_LIMITS_OFF,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class ApiServer:
    """uvicorn on its own thread and loop: the API exactly as deployed, over real HTTP."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            backlog=2048,
            # Longer than the client's idle reuse, so a reused connection is never one the
            # server is closing at that moment.
            timeout_keep_alive=120,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
async def stack(embedded_services: Services) -> AsyncIterator[Stack]:
    settings = stack_settings(embedded_services)
    temporal = await connect(settings)
    engine = create_engine(settings)
    sessions = session_factory(engine)
    workers = build_workers(temporal, settings, QUEUE_KINDS, sessions)
    try:
        async with running(workers):
            with ApiServer(settings) as api:
                stripe_emulator.register_localstripe_webhook(
                    embedded_services.stripe_base, f"{api.url}/webhooks/stripe", WEBHOOK_SECRET
                )
                yield Stack(settings, embedded_services, api.url, temporal, engine, sessions)
    finally:
        await engine.dispose()
