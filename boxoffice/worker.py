"""Worker pools: the `purchases`, `payments` and `fulfilment` task queues, in N processes.

A Python worker is bound by one core, so throughput scales by processes and machines. SIGTERM
stops polling and lets in-flight activities finish (or hands them back when the grace ends)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from temporalio.worker import Worker

from boxoffice.core.comma_list import comma_list
from boxoffice.core.database.engine import create_engine, session_factory
from boxoffice.core.observability.logging import configure_logging
from boxoffice.core.observability.tracing import configure_tracing
from boxoffice.core.observability.worker_metrics import expose_worker_metrics
from boxoffice.core.settings import Settings, get_settings
from boxoffice.core.temporal.client import connect
from boxoffice.core.temporal.versioning import (
    VersioningError,
    check_build,
    describe_version,
    task_queue_names,
    wait_registered,
    worker_version,
)
from boxoffice.worker_queues import (
    PURCHASES_WORKFLOWS,
    QUEUE_KINDS,
    VERSIONED_PURCHASES_WORKFLOWS,
    build_workers,
)

#: What each queue's worker runs lives in worker_queues.py; these names stay importable here.
__all__ = [
    "PURCHASES_WORKFLOWS",
    "QUEUE_KINDS",
    "VERSIONED_PURCHASES_WORKFLOWS",
    "build_workers",
    "main",
    "register_build",
    "run_workers",
    "running",
    "serve",
]
log = logging.getLogger("boxoffice.worker")


@asynccontextmanager
async def running(workers: Sequence[Worker]) -> AsyncIterator[None]:
    """The workers poll for the block; on leaving it each shuts down (in-flight activities get
    its grace) and a worker that failed raises here."""
    async with AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        yield


async def register_build(queues: Sequence[str], settings: Settings | None = None) -> None:
    """Register this build with the server: its workers poll each queue as the new version
    until the server lists it there, then stop. A version that is neither current nor ramping
    is given no tasks, so this runs beside the serving workers of the current build."""
    settings = settings or get_settings()
    version = worker_version(settings)
    if version is None:
        raise VersioningError("--register-build needs WORKER_DEPLOYMENT_NAME and WORKER_BUILD_ID")
    engine = create_engine(settings)
    try:
        client = await connect(settings)
        async with running(build_workers(client, settings, queues, session_factory(engine))):
            await wait_registered(client, version, task_queue_names(settings, queues))
        log.info("registered %s on %s", describe_version(version), ",".join(queues))
    finally:
        await engine.dispose()


async def serve(queues: Sequence[str], settings: Settings | None = None) -> None:
    """Run the chosen queues' workers in this process until SIGTERM or SIGINT."""
    settings = settings or get_settings()
    engine = create_engine(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        client = await connect(settings)
        workers = build_workers(client, settings, queues, session_factory(engine))
        async with running(workers):
            log.info("worker serving %s on %s", ",".join(queues), settings.temporal_address)
            await stop.wait()
            log.info("worker stopping: in-flight activities get %ss", settings.step_timeout_seconds)
    finally:
        await engine.dispose()


def _serve_in_process(queues: list[str], index: int = 0) -> None:
    """One worker process; `index` (0..N-1 under --processes N) offsets its metrics ports."""
    settings = get_settings()
    configure_logging(settings, service="worker")
    # Before connecting: the client carries the tracing interceptor to every worker.
    configure_tracing("worker")
    expose_worker_metrics(settings, index)
    asyncio.run(serve(queues))


def run_workers(queues: Sequence[str], processes: int = 1, *, register: bool = False) -> None:
    """Run `processes` worker processes, each serving all `queues`; with `register`, register
    this build with Temporal instead and return."""
    if processes < 1:
        raise ValueError("--processes must be at least 1")
    queue_list = list(queues)
    settings = get_settings()
    try:
        worker_version(settings)
    except VersioningError as error:  # a worker that must not start says why in one line
        print(f"boxoffice worker: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        if register:
            configure_logging(settings, service="worker")
            asyncio.run(register_build(queue_list))
            return
        asyncio.run(check_build(settings))
    except VersioningError as error:
        print(f"boxoffice worker: {error}", file=sys.stderr, flush=True)
        # Not SystemExit: once a Temporal client was made, the SDK runtime's threads may abort
        # the interpreter as it finalizes (SIGABRT instead of 2, about one run in six here).
        os._exit(2)
    if processes == 1:
        _serve_in_process(queue_list)
        return
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_serve_in_process, args=(queue_list, n), name=f"worker-{n}")
        for n in range(processes)
    ]
    for child in children:
        child.start()

    def forward_sigterm(_signum: int, _frame: object) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()

    signal.signal(signal.SIGTERM, forward_sigterm)
    try:
        for child in children:
            child.join()
    except KeyboardInterrupt:
        # Ctrl-C reaches every child of the terminal's process group by itself.
        for child in children:
            child.join()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queues", default=",".join(QUEUE_KINDS))
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--register-build", action="store_true")
    args = parser.parse_args(argv)
    queues = comma_list(args.queues)
    run_workers(queues, args.processes, register=args.register_build)


if __name__ == "__main__":
    main()
