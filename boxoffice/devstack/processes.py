"""Child processes of the dev stack and the test fixtures: started in their own process group
(and killed with their parent where the platform allows), waited for, and stopped with SIGTERM
then SIGKILL."""

from __future__ import annotations

import contextlib
import ctypes
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
from pathlib import Path
from typing import IO, Any

from boxoffice.devstack.ports import port_is_free

log = logging.getLogger(__name__)

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
            out = tempfile.TemporaryFile()  # noqa: SIM115 - likewise
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
