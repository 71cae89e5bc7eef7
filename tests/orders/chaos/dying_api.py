"""The API as deployed (`boxoffice.app:create_app` under uvicorn, its settings from the
environment) in a process of its own that SIGKILLs itself at one exact point of a create, for
`test_api_kills.py`.

Points (`DYING_API_KILL`): the first create reaching it kills the process, after a line on
stderr saying where, so the test can tell that death from any other:
- `before_start`: before `OrderClient.start` (nothing has happened yet);
- `after_start`: right after the order's run is recorded, before the API takes the seats;
- `after_reserve`: right after the API's `reserve_seats` returned (seats taken and the order
  written), before the buyer hears anything.
The patches live in that process only: the workers, separate processes, run the real code.

Importing the app takes seconds of CPU, so `python -m tests.orders.chaos.dying_api` is a small
fork server: it imports everything once, then forks one API process at a time on the test's
command (`start <point>|-` on stdin), answers `started <pid>`, and `ended <pid> <code>` when
that process ends (a negative code: the signal, as `subprocess` says it)."""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import IO, NoReturn

import httpx
import uvicorn
from fastapi import FastAPI

from boxoffice.core.settings import Settings
from boxoffice.devstack.processes import _parent_death_signal
from boxoffice.orders.activities.inventory import InventoryActivities
from boxoffice.orders.client import OrderClient
from boxoffice.orders.messages import PurchaseInput, ReserveInput, ReserveResult
from tests.orders.chaos.killable import START_SECONDS, settings_env

KILL_ENV = "DYING_API_KILL"
#: Written to stderr right before the kill, then the point and the order id.
DYING = "dying_api: SIGKILL at"
POINTS = ("before_start", "after_start", "after_reserve")
MODULE = "tests.orders.chaos.dying_api"


# --- in the API process ------------------------------------------------------------------


def _die(point: str, order_id: str) -> NoReturn:
    print(f"{DYING} {point} {order_id}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable: SIGKILL was sent")


def _patch_start(point: str) -> None:
    real = OrderClient.start

    @wraps(real)
    async def start(self: OrderClient, order: PurchaseInput, *, again: bool = False) -> None:
        if point == "before_start":
            _die(point, order.order_id)
        await real(self, order, again=again)
        _die(point, order.order_id)

    OrderClient.start = start  # type: ignore[method-assign]


def _patch_reserve() -> None:
    real = InventoryActivities.reserve_seats

    @wraps(real)
    async def reserve_seats(self: InventoryActivities, request: ReserveInput) -> ReserveResult:
        await real(self, request)
        _die("after_reserve", request.order_id)

    InventoryActivities.reserve_seats = reserve_seats  # type: ignore[method-assign]


def arm(point: str | None) -> None:
    """Patch this process so its first create reaching `point` kills it (None: never)."""
    if not point:
        return
    if point not in POINTS:
        raise SystemExit(f"{KILL_ENV}={point!r}: expected one of {', '.join(POINTS)}")
    if point == "after_reserve":
        _patch_reserve()
    else:
        _patch_start(point)


def create_app() -> FastAPI:
    """uvicorn's factory: the real app, this process patched as `DYING_API_KILL` says."""
    from boxoffice.app import create_app as real_create_app

    arm(os.environ.get(KILL_ENV))
    return real_create_app()


def _serve(
    port: int, log_fd: int, point: str | None, die_with_parent: Callable[[], None] | None
) -> NoReturn:
    """In the forked child: output to the log, then uvicorn until killed or stopped."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    if die_with_parent is not None:  # a fork server killed takes its API along
        die_with_parent()
    os.environ.pop(KILL_ENV, None)
    if point:
        os.environ[KILL_ENV] = point
    code = 0
    try:
        uvicorn.run(
            f"{MODULE}:create_app",
            factory=True,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_keep_alive=120,
        )
    except BaseException:  # a failed start: told by the exit code and the log
        code = 1
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The fork server of `dying_api`.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(argv)
    import boxoffice.app  # noqa: F401 - imported once here, forked ready
    import tests.orders.chaos.dying_api  # noqa: F401 - the factory's module, as uvicorn finds it

    log_fd = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    die_with_parent = _parent_death_signal()
    print("ready", flush=True)
    commands = _Lines(0)
    while (line := commands.next_line()) is not None:
        words = line.split()
        point = words[1] if len(words) > 1 and words[1] != "-" else None
        pid = os.fork()
        if pid == 0:
            _serve(args.port, log_fd, point, die_with_parent)
        print(f"started {pid}", flush=True)
        code = _wait_child(pid, commands)
        if code is None:
            return  # the test has gone, and its API process with it
        print(f"ended {pid} {code}", flush=True)


class _Lines:
    """Lines from a pipe, read raw (no buffer hides a line from `select`), with a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = b""
        self.closed = False

    def read(self) -> None:
        chunk = os.read(self.fd, 4096)
        self._buffer += chunk
        self.closed = not chunk

    def next_line(self, within: float | None = None) -> str | None:
        """The next line; None at the end of input or after `within` seconds."""
        deadline = None if within is None else time.monotonic() + within
        while b"\n" not in self._buffer:
            if self.closed:
                return None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    return None
            self.read()
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()


def _wait_child(pid: int, commands: _Lines) -> int | None:
    """The child's exit code once it ends; None (child killed) when stdin closes first."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if not commands.closed and select.select([0], [], [], 0.05)[0]:
            commands.read()
        if commands.closed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None


# --- in the test process -----------------------------------------------------------------


class DyingApi:
    """The test's side: one API process at a time on a fixed port, started with or without a
    point to die at, SIGKILLed or stopped, its end awaited."""

    def __init__(self, settings: Settings, log_file: Path, cwd: Path) -> None:
        from boxoffice.devstack.ports import free_port

        self.port = free_port()
        self.log_file = log_file
        env = settings_env(settings) | {"METRICS_PORT": "0", "WORKER_METRICS_PORT": "0"}
        self._log: IO[bytes] = log_file.open("ab")
        self._server = subprocess.Popen(
            [sys.executable, "-m", MODULE, "--port", str(self.port), "--log", str(log_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        assert self._server.stdout is not None
        self._lines = _Lines(self._server.stdout.fileno())
        self.pid: int | None = None
        self._expect("ready", START_SECONDS)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _expect(self, word: str, within: float) -> list[str]:
        line = self._lines.next_line(within) or ""
        parts = line.split()
        if not parts or parts[0] != word:
            tail = self.log_file.read_text(errors="replace")[-3000:]
            raise AssertionError(f"dying_api: expected {word!r}, got {line!r}; log:\n{tail}")
        return parts[1:]

    def start(self, point: str | None = None) -> None:
        """A new API process, dying at `point` if given; returns once it answers."""
        assert self.pid is None, "one API process at a time"
        stdin = self._server.stdin
        assert stdin is not None
        stdin.write(f"start {point or '-'}\n".encode())
        stdin.flush()
        self.pid = int(self._expect("started", 10)[0])
        deadline = time.monotonic() + START_SECONDS
        while not self._healthy():
            ended = self._lines.next_line(0.05)
            if ended is not None or time.monotonic() > deadline:
                tail = self.log_file.read_text(errors="replace")[-3000:]
                why = ended or f"no answer in {START_SECONDS:.0f} s"
                raise AssertionError(f"the API process did not start ({why}); log:\n{tail}")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2, trust_env=False).is_success
        except httpx.HTTPError:
            return False

    def wait_dead(self, within: float = 30) -> int:
        """Wait for the API process to end by itself: its exit code (-9: SIGKILL)."""
        assert self.pid is not None
        pid, code = self._expect("ended", within)
        assert int(pid) == self.pid
        self.pid = None
        return int(code)

    def kill(self) -> None:
        """SIGKILL the API process, if one runs."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.wait_dead()

    def close(self) -> None:
        self.kill()
        if self._server.stdin is not None:
            self._server.stdin.close()
        try:
            self._server.wait(10)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait()
        self._log.close()


if __name__ == "__main__":
    main()
