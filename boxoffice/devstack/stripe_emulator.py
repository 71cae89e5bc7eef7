"""The Stripe emulator (localstack-localstripe) for the dev stack and the tests: run in a process
of its own with its state in a file of ours, and told where to send webhooks."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from boxoffice.core.temporal.search_attributes import REGISTRATION
from boxoffice.devstack.ports import free_port
from boxoffice.devstack.processes import (
    _require_free,
    managed_process,
    wait_until,
)

log = logging.getLogger(__name__)

#: Custom search attributes (name -> Temporal type) the dev server registers at start.
SEARCH_ATTRIBUTES: dict[str, str] = dict(REGISTRATION)


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
        "from boxoffice.devstack.stripe_emulator import localstripe_main; localstripe_main()",
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
