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
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from temporalio.client import Client
from temporalio.worker import Worker

from boxoffice.auth.order_tokens import order_token_secret
from boxoffice.core.database.engine import create_engine, session_factory
from boxoffice.core.observability.interceptor import MetricsInterceptor
from boxoffice.core.observability.logging import configure_logging
from boxoffice.core.observability.tracing import configure_tracing
from boxoffice.core.observability.worker_metrics import expose_worker_metrics
from boxoffice.core.s3 import ensure_bucket, make_s3_client
from boxoffice.core.settings import Settings, get_settings
from boxoffice.core.temporal.client import connect
from boxoffice.core.temporal.versioning import (
    VersioningError,
    check_build,
    deployment_config,
    describe_version,
    task_queue_names,
    wait_registered,
    worker_version,
)
from boxoffice.events.lifecycle.activities import LifecycleActivities
from boxoffice.events.lifecycle.notices import NoticeActivities
from boxoffice.events.lifecycle.versioned import (
    VersionedEventCancellation,
    VersionedEventPostponement,
)
from boxoffice.events.lifecycle.workflow import EventCancellationWorkflow, EventPostponementWorkflow
from boxoffice.orders.activities.documents import DocumentActivities, RecentPdfs
from boxoffice.orders.activities.email import EmailActivities
from boxoffice.orders.activities.inventory import InventoryActivities
from boxoffice.orders.activities.payments import PaymentActivities, make_stripe_client
from boxoffice.orders.activities.refunds import RefundActivities
from boxoffice.orders.activities.tickets import TicketActivities
from boxoffice.orders.client import OrderClient
from boxoffice.orders.reconciliation.activities import ReconciliationActivities
from boxoffice.orders.reconciliation.workflow import ReconciliationWorkflow
from boxoffice.orders.tickets.codes import signer_from_settings
from boxoffice.orders.workflow.late_payment import RefundLatePayment
from boxoffice.orders.workflow.purchase import PurchaseWorkflow
from boxoffice.orders.workflow.versioned import (
    VersionedPurchaseWorkflow,
    VersionedReconciliation,
    VersionedRefundLatePayment,
)

QUEUE_KINDS = ("purchases", "payments", "fulfilment")
#: Every workflow the purchases queue runs (the replay tests replay each one's histories).
PURCHASES_WORKFLOWS = [
    PurchaseWorkflow,
    RefundLatePayment,
    EventCancellationWorkflow,
    EventPostponementWorkflow,
    ReconciliationWorkflow,
]
#: The same types for a versioned worker, each declaring PINNED or AUTO_UPGRADE.
VERSIONED_PURCHASES_WORKFLOWS = [
    VersionedPurchaseWorkflow,
    VersionedRefundLatePayment,
    VersionedEventCancellation,
    VersionedEventPostponement,
    VersionedReconciliation,
]
log = logging.getLogger("boxoffice.worker")


def build_workers(
    client: Client, settings: Settings, queues: Sequence[str], sessions: Any
) -> list[Worker]:
    """One worker per task queue kind, each given the clients its activities need, all polling
    as the settings' worker deployment version (unversioned when none is set)."""
    unknown = set(queues) - set(QUEUE_KINDS)
    if unknown:
        raise ValueError(f"unknown queue(s) {sorted(unknown)}; choose from {QUEUE_KINDS}")
    grace = timedelta(seconds=settings.step_timeout_seconds)
    deployment = deployment_config(settings)
    # Counts what the activities do (local ones included) into this process's metrics.
    interceptors = [MetricsInterceptor()]
    workers: list[Worker] = []
    if "purchases" in queues:
        inventory = InventoryActivities(
            sessions,
            settings.max_tickets_per_buyer_per_event,
            settings.max_unpaid_tickets_per_client,
        )
        # The event-wide runs act on each order through its own run, as support does.
        lifecycle = LifecycleActivities(sessions, OrderClient(client, settings))
        workers.append(
            Worker(
                client,
                task_queue=settings.task_queue_purchases,
                workflows=VERSIONED_PURCHASES_WORKFLOWS if deployment else PURCHASES_WORKFLOWS,
                activities=[
                    inventory.reserve_seats,
                    inventory.release_seats,
                    inventory.record_status,
                    inventory.record_hold_expiry,
                    lifecycle.next_orders,
                    lifecycle.settle_order,
                    lifecycle.finish_run,
                ],
                graceful_shutdown_timeout=grace,
                interceptors=interceptors,
                deployment_config=deployment,
            )
        )
    if "payments" in queues:
        stripe_client = make_stripe_client(settings)
        payments = PaymentActivities(
            sessions, stripe_client, settings.max_tickets_per_buyer_per_event
        )
        refunds = RefundActivities(sessions, stripe_client)
        reconciliation = ReconciliationActivities(sessions, stripe_client)
        workers.append(
            Worker(
                client,
                task_queue=settings.task_queue_payments,
                activities=[
                    payments.charge_payment,
                    payments.settle_payment,
                    refunds.refund_payment,
                    refunds.refund_stray_payment,
                    reconciliation.list_stripe_period,
                    reconciliation.look_up_at_stripe,
                    reconciliation.read_books,
                    reconciliation.record_mismatches,
                ],
                max_task_queue_activities_per_second=settings.payments_max_activities_per_second,
                graceful_shutdown_timeout=grace,
                interceptors=interceptors,
                deployment_config=deployment,
            )
        )
    if "fulfilment" in queues:
        s3 = make_s3_client(settings)
        try:
            ensure_bucket(s3, settings.s3_bucket)
        except (BotoCoreError, ClientError) as error:
            # S3 down at start is an outage like any other: serve anyway; the storage step
            # retries, and the order waits or goes to needs_attention.
            log.warning("S3 bucket %s not reachable at start: %s", settings.s3_bucket, error)
        tickets = TicketActivities(sessions, signer_from_settings(settings))
        recent_pdfs = RecentPdfs()  # the email step attaches the PDF this process just stored
        storage = DocumentActivities(sessions, s3, settings.s3_bucket, recent_pdfs)
        email = EmailActivities(
            sessions,
            s3,
            settings.s3_bucket,
            settings.smtp_url,
            settings.mail_from,
            settings.public_base_url,
            order_token_secret(settings),
            recent_pdfs,
        )
        notices = NoticeActivities(sessions, settings.smtp_url, settings.mail_from)
        workers.append(
            Worker(
                client,
                task_queue=settings.task_queue_fulfilment,
                activities=[
                    tickets.issue_tickets,
                    tickets.void_tickets,
                    storage.store_tickets_pdf,
                    email.email_tickets,
                    email.resend_tickets_email,
                    notices.notify_buyer,
                ],
                graceful_shutdown_timeout=grace,
                interceptors=interceptors,
                deployment_config=deployment,
            )
        )
    return workers


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
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    run_workers(queues, args.processes, register=args.register_build)


if __name__ == "__main__":
    main()
