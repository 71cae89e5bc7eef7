"""What each task queue's worker runs: the workflows and activities of the `purchases`,
`payments` and `fulfilment` queues, each given the clients its activities need.

Queues of the same name share one worker. A single process may serve fulfilment on the purchases
queue (`TASK_QUEUE_FULFILMENT=purchases`): the worker then takes those activities straight from
its own workflow task's answer (eager dispatch) instead of from the server's task matching."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from boxoffice.auth.order_tokens import order_token_secret
from boxoffice.core.observability.interceptor import MetricsInterceptor
from boxoffice.core.s3 import ensure_bucket, make_s3_client
from boxoffice.core.settings import Settings
from boxoffice.core.temporal.versioning import deployment_config, task_queue_names
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


@dataclass
class _QueueWork:
    """What one queue kind's worker runs; kinds on the same task queue are merged."""

    task_queue: str
    workflows: list[type] = field(default_factory=list)
    activities: list[Callable[..., Any]] = field(default_factory=list)
    #: Server-side limit for the whole task queue (payments only: Stripe's rate limit).
    max_activities_per_second: float | None = None


def build_workers(
    client: Client, settings: Settings, queues: Sequence[str], sessions: Any
) -> list[Worker]:
    """One worker per task queue, each given the clients its activities need, all polling as
    the settings' worker deployment version (unversioned when none is set)."""
    unknown = set(queues) - set(QUEUE_KINDS)
    if unknown:
        raise ValueError(f"unknown queue(s) {sorted(unknown)}; choose from {QUEUE_KINDS}")
    _refuse_half_a_shared_queue(settings, queues)
    makers = {"purchases": _purchases, "payments": _payments, "fulfilment": _fulfilment}
    merged: dict[str, _QueueWork] = {}
    for kind in QUEUE_KINDS:
        if kind not in queues:
            continue
        work = makers[kind](settings, sessions, client)
        into = merged.setdefault(work.task_queue, _QueueWork(work.task_queue))
        into.workflows += work.workflows
        into.activities += work.activities
        into.max_activities_per_second = work.max_activities_per_second or (
            into.max_activities_per_second
        )
    deployment = deployment_config(settings)
    # Counts what the activities do (local ones included) into this process's metrics.
    interceptors = [MetricsInterceptor()]
    # Workflow code runs outside the SDK's sandbox. The sandbox imported the workflow's module
    # again for every new run and patched the imports around every activation: in a py-spy
    # profile of `make bench`'s reservations, a quarter of the worker's samples. It guarded
    # little: the workflows' phases (hold, payment, fulfilment...) are imported passed through,
    # beyond its reach. What keeps workflow code deterministic: ruff's banned calls for workflow
    # modules (pyproject.toml), the workflow tier, which runs every path in the sandbox, and
    # the replay tier.
    runner = UnsandboxedWorkflowRunner()
    return [
        Worker(
            client,
            task_queue=work.task_queue,
            workflows=work.workflows,
            activities=work.activities,
            max_task_queue_activities_per_second=work.max_activities_per_second,
            graceful_shutdown_timeout=timedelta(seconds=settings.step_timeout_seconds),
            interceptors=interceptors,
            deployment_config=deployment,
            workflow_runner=runner,
        )
        for work in merged.values()
    ]


def _refuse_half_a_shared_queue(settings: Settings, queues: Sequence[str]) -> None:
    """Kinds sharing a task queue are served together: a worker holding only some of them would
    take the others' tasks and fail them as unknown."""
    names = dict(zip(QUEUE_KINDS, task_queue_names(settings, QUEUE_KINDS), strict=True))
    for kind in queues:
        apart = [k for k in QUEUE_KINDS if k not in queues and names[k] == names[kind]]
        if apart:
            raise ValueError(
                f"the {kind} and {', '.join(apart)} queue kinds share the task queue "
                f"{names[kind]!r}: serve them in the same worker (--queues "
                f"{','.join(sorted({kind, *apart}))})"
            )


def _purchases(settings: Settings, sessions: Any, client: Client) -> _QueueWork:
    inventory = InventoryActivities(
        sessions,
        settings.max_tickets_per_buyer_per_event,
        settings.max_unpaid_tickets_per_client,
    )
    # The event-wide runs act on each order through its own run, as support does.
    lifecycle = LifecycleActivities(sessions, OrderClient(client, settings))
    versioned = deployment_config(settings) is not None
    return _QueueWork(
        settings.task_queue_purchases,
        workflows=list(VERSIONED_PURCHASES_WORKFLOWS if versioned else PURCHASES_WORKFLOWS),
        activities=[
            inventory.reserve_seats,
            inventory.release_seats,
            inventory.record_status,
            inventory.record_hold_expiry,
            lifecycle.next_orders,
            lifecycle.settle_order,
            lifecycle.finish_run,
        ],
    )


def _payments(settings: Settings, sessions: Any, client: Client) -> _QueueWork:
    stripe_client = make_stripe_client(settings)
    payments = PaymentActivities(sessions, stripe_client, settings.max_tickets_per_buyer_per_event)
    refunds = RefundActivities(sessions, stripe_client)
    reconciliation = ReconciliationActivities(sessions, stripe_client)
    return _QueueWork(
        settings.task_queue_payments,
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
        max_activities_per_second=settings.payments_max_activities_per_second,
    )


def _fulfilment(settings: Settings, sessions: Any, client: Client) -> _QueueWork:
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
    return _QueueWork(
        settings.task_queue_fulfilment,
        activities=[
            tickets.issue_tickets,
            tickets.void_tickets,
            storage.store_tickets_pdf,
            email.email_tickets,
            email.resend_tickets_email,
            notices.notify_buyer,
        ],
    )
