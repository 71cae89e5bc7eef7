"""The whole system as the chaos tests run it: the real embedded services, each outside
service behind a fault proxy, workers as separate processes, Temporal on a database file.

Unlike the integration stack (workers in the test loop, Temporal in memory), every part here can
be killed: workers and Temporal by SIGKILL, PostgreSQL by an immediate stop. localstripe keeps
its state in memory, so it is never restarted: its outages are the proxy's."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from boxoffice.auth.tokens import mint_token
from boxoffice.core.database.engine import create_engine, session_factory
from boxoffice.core.database.migrate import upgrade
from boxoffice.core.s3 import ensure_bucket, make_s3_client
from boxoffice.core.settings import ABUSE_LIMITS_OFF, Settings
from boxoffice.core.temporal.client import connect
from boxoffice.devstack import services, stripe_emulator
from boxoffice.worker import QUEUE_KINDS
from tests.conftest import WEBHOOK_SECRET, ApiServer
from tests.orders.chaos.fault_proxy import FaultProxy
from tests.orders.chaos.invariants import World
from tests.orders.chaos.killable import Postgres, TemporalServer, WorkerPool

BUCKET = "boxoffice-chaos-tickets"


@dataclass
class Proxies:
    stripe: FaultProxy
    s3: FaultProxy
    smtp: FaultProxy


@dataclass
class Cluster:
    settings: Settings
    api_url: str
    temporal_server: TemporalServer
    postgres: Postgres
    workers: WorkerPool
    proxies: Proxies
    mail: services.MailCatcher
    stripe_base: str
    s3_endpoint: str
    tmp: Path

    def http(self, timeout: float = 60, base_url: str | None = None) -> httpx.AsyncClient:
        """A client with a token of every staff role: the chaos buyers and support alike see
        every order (access rules have tests of their own). `base_url`: another API process
        of this cluster."""
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=100)
        token = mint_token(self.settings, "chaos-staff", ["admin", "support", "gate"])
        return httpx.AsyncClient(
            base_url=base_url or self.api_url,
            timeout=timeout,
            limits=limits,
            trust_env=False,
            headers={"Authorization": f"Bearer {token}"},
        )

    def restart_temporal(self) -> None:
        self.temporal_server.kill()
        self.temporal_server.start()


def chaos_settings(tmp: Path, **values: object) -> Settings:
    """Short timeouts and retries, so a lost activity is retried within seconds; enough
    fulfilment attempts (about 8 s of backoff) that a short outage is waited out."""
    defaults: dict[str, object] = {
        "data_dir": tmp / "data",
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "s3_bucket": BUCKET,
        "ticket_signing_key_file": tmp / "ticket-signing-key.pem",
        "reservation_wait_seconds": 20,
        "payment_timeout_seconds": 4,
        "step_timeout_seconds": 4,
        "step_max_attempts": 6,
        "retry_initial_interval_seconds": 0.5,
        "retry_max_interval_seconds": 2,
        "order_grace_seconds": 60,
        "db_pool_timeout_seconds": 10,
        "log_level": "INFO",
        "auth_secret": "chaos-auth-secret-of-enough-length",
        "order_token_secret": "chaos-order-token-secret",
        # Chaos buyers are many orders from one address and one buyer.
        **ABUSE_LIMITS_OFF,
    }
    defaults.update(values)
    return Settings(_env_file=None, **defaults)  # type: ignore[arg-type]


@contextlib.contextmanager
def chaos_cluster(tmp: Path) -> Iterator[Cluster]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with contextlib.ExitStack() as stack:
        pg_parent = stack.enter_context(services.scratch_dir("boxoffice-chaos-pg-"))
        database_url = stack.enter_context(services.postgres(pg_parent / "data"))
        postgres = Postgres(pg_parent / "data", database_url)
        stack.callback(postgres.stop_for_good)
        upgrade(database_url)

        temporal = TemporalServer(tmp / "temporal.db", tmp / "temporal.log")
        stack.callback(temporal.stop)
        temporal.start()

        stripe_base = stack.enter_context(stripe_emulator.localstripe(log_file=tmp / "stripe.log"))
        s3_endpoint = stack.enter_context(services.moto_s3(log_file=tmp / "moto.log"))
        mail = stack.enter_context(services.mail_catcher(None, tmp / "mail"))
        proxies = Proxies(
            stripe=_proxy(stack, stripe_base),
            s3=_proxy(stack, s3_endpoint),
            smtp=_proxy_smtp(stack, mail),
        )
        settings = chaos_settings(
            tmp,
            database_url=database_url,
            temporal_address=temporal.address,
            stripe_api_base=f"http://{proxies.stripe.address}",
            s3_endpoint_url=f"http://{proxies.s3.address}",
            smtp_url=f"smtp://{proxies.smtp.address}",
        )
        ensure_bucket(make_s3_client(settings), BUCKET)

        workers = WorkerPool(settings, tmp)
        stack.callback(workers.stop)
        workers.start(*QUEUE_KINDS)

        api = stack.enter_context(ApiServer(settings))
        # localstripe calls the API directly: webhooks are not what the proxy breaks.
        stripe_emulator.register_localstripe_webhook(
            stripe_base, f"{api.url}/webhooks/stripe", WEBHOOK_SECRET
        )
        yield Cluster(
            settings,
            api.url,
            temporal,
            postgres,
            workers,
            proxies,
            mail,
            stripe_base,
            s3_endpoint,
            tmp,
        )


def _proxy(stack: contextlib.ExitStack, base: str) -> FaultProxy:
    parts = urlsplit(base)
    assert parts.hostname is not None and parts.port is not None
    proxy = FaultProxy(parts.hostname, parts.port).start()
    stack.callback(proxy.stop)
    return proxy


def _proxy_smtp(stack: contextlib.ExitStack, mail: services.MailCatcher) -> FaultProxy:
    proxy = FaultProxy(mail.host, mail.port).start()
    stack.callback(proxy.stop)
    return proxy


@contextlib.asynccontextmanager
async def open_world(cluster: Cluster) -> AsyncIterator[tuple[World, AsyncEngine]]:
    """What the checks read, bypassing the proxies so they see the truth during an outage."""
    engine = create_engine(cluster.settings)
    try:
        yield (
            World(
                sessions=session_factory(engine),
                stripe=stripe.StripeClient(
                    "sk_test_chaos",
                    base_addresses={"api": cluster.stripe_base},
                    http_client=stripe.HTTPXClient(timeout=20, allow_sync_methods=True),
                ),
                s3=make_s3_client(chaos_settings(cluster.tmp, s3_endpoint_url=cluster.s3_endpoint)),
                bucket=BUCKET,
                mail=cluster.mail,
                # Reconnects by itself after a server restart.
                temporal=await connect(cluster.settings),
            ),
            engine,
        )
    finally:
        await engine.dispose()
