"""`make dev` / `boxoffice dev`: the whole system on one machine, on embedded defaults.

Data lives under the settings' data_dir (`.data/`), so a second start finds the first one's
orders: PostgreSQL in `postgres/`, Temporal in `temporal.db`, mail in `mail/`, the Stripe
emulator's objects in `localstripe.pickle`, ticket PDFs in `s3/` (moto keeps S3 in memory only, so
the bucket is copied there on stop and back on start), the webhook secret in
`stripe-webhook-secret`. Service logs go to `logs/`; the API's and the worker's to the terminal.

Any setting that points at a real service (DATABASE_URL, TEMPORAL_ADDRESS, STRIPE_API_KEY or
STRIPE_API_BASE, S3_ENDPOINT_URL, SMTP_URL; from the environment or `.env`) replaces its
embedded part.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from boxoffice.core.settings import Settings
from boxoffice.devstack import processes
from boxoffice.devstack.start import DEV_PORTS, DevPorts, DevStackError, say, start_stack

__all__ = ["DEV_PORTS", "DevPorts", "DevStackError", "run_dev_stack"]


# --------------------------------------------------------------------------- signals


#: Ctrl-C, `kill`, and closing the terminal all stop the stack the same way.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _signals_stop_the_stack() -> Iterator[None]:
    """Each stop signal raises KeyboardInterrupt, so every one unwinds the same way."""
    previous = {
        signum: signal.signal(signum, signal.default_int_handler) for signum in _STOP_SIGNALS
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _keep_stopping(_signum: int, _frame: Any) -> None:
    """While stopping, another Ctrl-C must not abandon children half-stopped."""
    say("still stopping (each part gets up to 10 s before it is killed)...")


def run_dev_stack(data_dir: Path | None = None, ports: DevPorts = DEV_PORTS) -> int:
    """Start everything, wait for Ctrl-C or SIGTERM, stop everything in reverse order.

    Returns the exit code: 0 after a requested stop, 1 when something failed.
    """
    stack = contextlib.ExitStack()
    code = 0
    with _signals_stop_the_stack():
        try:
            start_stack(stack, data_dir or Settings().data_dir, ports)
        except KeyboardInterrupt:
            print(flush=True)
            say("stopping")
        except (DevStackError, processes.ServiceError) as exc:
            say(f"error: {exc}")
            code = 1
        finally:
            for signum in _STOP_SIGNALS:
                signal.signal(signum, _keep_stopping)
            try:
                stack.close()
            except Exception as exc:
                say(f"error while stopping: {type(exc).__name__}: {exc}")
                code = 1
    if code == 0:
        say("stopped")
    return code
