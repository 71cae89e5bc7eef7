"""The system under test, started the way `make dev` starts it but on free ports in a temporary
directory: embedded services, then the API (uvicorn) and the worker pool as child processes,
beside the baselines' own worker and bare FastAPI app. Everything stops when the block ends."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.client import Client

from bench.load import AUTH_SECRET
from bench.naive.messages import READY as NAIVE_READY
from bench.options import Options
from bench.processes import Child, free_port_run, scrape, total
from boxoffice.cli import register_search_attributes
from boxoffice.core.database.migrate import upgrade
from boxoffice.core.settings import ABUSE_LIMITS_OFF
from boxoffice.devstack import processes, services, stripe_emulator
from boxoffice.devstack.ports import free_port, wait_for_port
from boxoffice.orders.tickets.codes import load_or_create_signing_key

REPO = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "whsec_boxoffice_bench"
BARE_TASK_QUEUE = "bench-bare"
ALL_QUEUES = "purchases,payments,fulfilment"
NOOP_READY = "no-op steps serving"
#: Both HTTP apps run with exactly these uvicorn flags (plus --workers).
UVICORN_FLAGS = (
    *("--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"),
    *("--backlog", "2048", "--timeout-keep-alive", "120"),
)


@dataclass
class BenchStack:
    options: Options
    tmp: Path
    env: dict[str, str]
    database_url: str
    temporal_address: str
    stripe_base: str
    temporal: Client
    api: Child
    workers: Child
    extra_workers: Child
    noop_steps: Child
    bare_api: Child
    naive_worker: Child
    api_url: str = ""
    bare_api_url: str = ""
    api_processes: int = 1
    worker_processes: int = 1
    worker_metrics_base: int = 0
    extra_metrics_base: int = 0
    naive_metrics_port: int = 0
    settings_overrides: dict[str, str] = field(default_factory=dict)

    # --- the API -------------------------------------------------------------------------

    def start_api(self, processes: int = 1, **settings: str) -> None:
        """(Re)start the API with `processes` uvicorn workers and these settings on top of the
        stack's (e.g. HOLD_SECONDS), and point Stripe's webhooks at it."""
        port = free_port()
        env = {**self.env, **{k.upper(): v for k, v in settings.items()}}
        url = f"http://127.0.0.1:{port}"
        self.api.start(
            [
                *(sys.executable, "-m", "uvicorn", "boxoffice.app:create_app", "--factory"),
                *UVICORN_FLAGS,
                *("--port", str(port), "--workers", str(processes)),
            ],
            env,
            self.tmp,
            ready=lambda: _ready(f"{url}/readyz"),
        )
        self.api_url = url
        self.api_processes = processes
        self.settings_overrides = dict(settings)
        stripe_emulator.register_localstripe_webhook(
            self.stripe_base, f"{url}/webhooks/stripe", WEBHOOK_SECRET
        )

    def start_bare_api(self) -> None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        self.bare_api.start(
            [
                *(sys.executable, "-m", "uvicorn", "bench.bare_api:create_bare_app", "--factory"),
                *UVICORN_FLAGS,
                *("--port", str(port), "--workers", "1"),
            ],
            self.env,
            self.tmp,
            ready=lambda: _ready(f"{url}/readyz"),
        )
        self.bare_api_url = url

    # --- the worker pool -----------------------------------------------------------------

    def start_workers(self, processes: int, queues: str = ALL_QUEUES) -> None:
        """(Re)start `boxoffice worker --processes N --queues Q`; ready once every process
        polls."""
        self.stop_extra_workers()
        self.worker_metrics_base = self._start_pool(self.workers, processes, queues)
        self.worker_processes = processes

    def start_noop_steps(self) -> None:
        """Serve the payments and fulfilment queues with no-op steps (`bench.noop_steps`)."""
        log = self.noop_steps.log_file
        before = log.read_text().count(NOOP_READY) if log.exists() else 0
        self.noop_steps.start(
            [sys.executable, "-m", "bench.noop_steps"],
            self.env,
            self.tmp,
            ready=lambda: log.exists() and log.read_text().count(NOOP_READY) > before,
        )

    def start_naive_worker(self) -> None:
        """The naive baseline's worker (`bench.naive.worker`), with its own metrics port."""
        log = self.naive_worker.log_file
        before = log.read_text().count(NAIVE_READY) if log.exists() else 0
        port = free_port()
        self.naive_worker.start(
            [sys.executable, "-m", "bench.naive.worker"],
            {**self.env, "NAIVE_METRICS_PORT": str(port)},
            self.tmp,
            ready=lambda: log.exists() and log.read_text().count(NAIVE_READY) > before,
        )
        self.naive_metrics_port = port

    def add_worker_process(self) -> None:
        """Scale out by one more worker process beside the running pool (as a deployment adds
        a replica), without stopping the pool."""
        self.extra_metrics_base = self._start_pool(self.extra_workers, 1)

    def stop_extra_workers(self) -> None:
        self.extra_workers.stop()
        self.extra_metrics_base = 0

    def _start_pool(self, child: Child, processes: int, queues: str = ALL_QUEUES) -> int:
        base = free_port_run(2 * processes)
        env = {
            **self.env,
            "WORKER_METRICS_PORT": str(base),
            "METRICS_PORT": str(base + processes),
        }
        ports = [base + i for i in range(processes)]

        def polling() -> bool:
            return all(total(scrape(p), "temporal_num_pollers") > 0 for p in ports)

        child.start(
            pool_command(processes, queues, self.options.workers_nice),
            env,
            self.tmp,
            ready=polling,
        )
        return base

    def worker_metric_ports(self) -> list[int]:
        ports = [self.worker_metrics_base + i for i in range(self.worker_processes)]
        return ports + ([self.extra_metrics_base] if self.extra_metrics_base else [])

    def worker_pids(self) -> list[int]:
        return self.workers.pids() + self.extra_workers.pids()

    def describe(self) -> dict[str, object]:
        storage = f"sqlite:{self.options.temporal_db}" if self.options.temporal_db else "memory"
        return {
            # An external server's or database's CPU is not in the figures (not our processes).
            "temporal_storage": (
                f"external:{self.temporal_address}" if self.options.temporal_address else storage
            ),
            "database": "external" if self.options.database_url else "embedded",
            "api_processes": self.api_processes,
            "worker_processes": self.worker_processes,
            "workers_nice": self.options.workers_nice,
            "uvicorn_flags": list(UVICORN_FLAGS),
            "log_level": self.env["LOG_LEVEL"],
        }


def pool_command(processes: int, queues: str, nice: int) -> list[str]:
    """`boxoffice worker`, under `nice -n N` when asked (`nice` execs it: the same pid)."""
    return [
        *(("nice", "-n", str(nice)) if nice else ()),
        *(sys.executable, "-m", "boxoffice.worker"),
        *("--processes", str(processes), "--queues", queues),
    ]


def _ready(url: str) -> bool:
    with httpx.Client(trust_env=False, timeout=5) as client:
        return client.get(url).status_code == 200


@contextlib.asynccontextmanager
async def bench_stack(options: Options) -> AsyncIterator[BenchStack]:
    """Every part on free ports under one temporary directory, removed at the end."""
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(services.scratch_dir("boxoffice-bench-"))
        logs = tmp / "logs"
        database_url = options.database_url or stack.enter_context(
            services.postgres(tmp / "postgres")
        )
        upgrade(database_url)
        if options.temporal_address:
            temporal_address = options.temporal_address
            await register_search_attributes(temporal_address, "default", wait_seconds=30)
        else:
            temporal_address = stack.enter_context(
                services.temporal(log_file=logs / "temporal.log", db_file=options.temporal_db)
            )
        stripe_base = stack.enter_context(stripe_emulator.localstripe(log_file=logs / "stripe.log"))
        s3 = stack.enter_context(services.moto_s3(log_file=logs / "moto.log"))
        smtp_port = free_port()
        stack.enter_context(
            processes.managed_process(
                [sys.executable, "-m", "bench.mail_sink", str(smtp_port), str(tmp / "mail")],
                name="SMTP catcher",
                log_file=logs / "mail.log",
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
        )
        wait_for_port(smtp_port)
        key_file = tmp / "ticket-signing-key.pem"
        load_or_create_signing_key(key_file)  # before N worker processes race to create it
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            # Bytecode cached, as an installed package has it: otherwise the workflow sandbox
            # compiles the workflow's modules from source for every new run.
            "PYTHONPYCACHEPREFIX": str(tmp / "pycache"),
            "PYTHONPATH": str(REPO),
            "DATA_DIR": str(tmp / "data"),
            "DATABASE_URL": database_url,
            "DB_POOL_SIZE": "10",
            "TEMPORAL_ADDRESS": temporal_address,
            "STRIPE_API_BASE": stripe_base,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "S3_ENDPOINT_URL": s3,
            "S3_BUCKET": "boxoffice-bench-tickets",
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "TICKET_SIGNING_KEY_FILE": str(key_file),
            "LOG_LEVEL": "WARNING",
            # Holds outlast the run, so no scenario's expiries land in another's figures (open
            # holds sets its own).
            "HOLD_SECONDS": "7200",
            # No short first hold: buyers that never pay are the scenarios' own business.
            "FIRST_HOLD_SECONDS": "0",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AUTH_SECRET": AUTH_SECRET,
            # Every bench buyer comes from one address with one email: abuse limits off.
            **{name.upper(): str(value) for name, value in ABUSE_LIMITS_OFF.items()},
        }
        temporal = await Client.connect(temporal_address)
        found = BenchStack(
            options=options,
            tmp=tmp,
            env=env,
            database_url=database_url,
            temporal_address=temporal_address,
            stripe_base=stripe_base,
            temporal=temporal,
            api=Child("API", logs / "api.log"),
            workers=Child("worker pool", logs / "worker.log"),
            extra_workers=Child("extra worker", logs / "extra-worker.log"),
            noop_steps=Child("no-op steps", logs / "noop-steps.log"),
            bare_api=Child("bare API", logs / "bare-api.log"),
            naive_worker=Child("naive worker", logs / "naive-worker.log"),
        )
        bare_worker = Child("bare worker", logs / "bare-worker.log")
        stack.callback(bare_worker.stop)
        stack.callback(found.bare_api.stop)
        stack.callback(found.workers.stop)
        stack.callback(found.extra_workers.stop)
        stack.callback(found.noop_steps.stop)
        stack.callback(found.naive_worker.stop)
        stack.callback(found.api.stop)
        bare_worker.start(
            [sys.executable, "-m", "bench.bare_temporal", temporal_address, BARE_TASK_QUEUE],
            env,
            tmp,
            ready=lambda: True,
        )
        found.start_bare_api()
        found.start_workers(options.processes)
        found.start_api(1)
        yield found
