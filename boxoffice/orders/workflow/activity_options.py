"""Timeouts and retry policies of every activity, in one place.

The numbers come from `PipelineConfig` (settings at order start), so tests run with short ones.
Compensation (release, refund, settle) retries without limit: it must happen, and an outage only
delays it. Fulfilment steps stop after `step_max_attempts` and the order waits for support."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from temporalio.common import RetryPolicy

from boxoffice.orders.messages import PipelineConfig


class LocalActivityOptions(TypedDict, total=False):
    start_to_close_timeout: timedelta
    schedule_to_close_timeout: timedelta
    retry_policy: RetryPolicy


class ActivityOptions(TypedDict, total=False):
    task_queue: str
    start_to_close_timeout: timedelta
    schedule_to_close_timeout: timedelta
    heartbeat_timeout: timedelta
    retry_policy: RetryPolicy


def _backoff(config: PipelineConfig, maximum_attempts: int = 0) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=config.retry_initial_interval_seconds),
        maximum_interval=timedelta(seconds=config.retry_max_interval_seconds),
        maximum_attempts=maximum_attempts,
        non_retryable_error_types=["InvalidOrder", "CardDeclined", "PaymentMethodInvalid"],
    )


def reserve(config: PipelineConfig) -> LocalActivityOptions:
    """A local activity inside the reservation: short, so the buyer's answer is quick."""
    return LocalActivityOptions(
        start_to_close_timeout=timedelta(seconds=10),
        retry_policy=RetryPolicy(
            initial_interval=timedelta(milliseconds=200),
            maximum_interval=timedelta(seconds=2),
            maximum_attempts=5,
            non_retryable_error_types=["InvalidOrder"],
        ),
    )


def reserve_until_hold_ends(config: PipelineConfig) -> LocalActivityOptions:
    """The reservation of a run whose API may already have told the buyer "held" (it took the
    seats itself; the run adopts them, `orders/creation.py`): it keeps trying while the
    database is away, until the hold would have ended, instead of giving up after five tries
    and releasing seats the buyer was promised."""
    return LocalActivityOptions(
        start_to_close_timeout=timedelta(seconds=10),
        schedule_to_close_timeout=timedelta(seconds=config.first_hold()),
        retry_policy=RetryPolicy(
            initial_interval=timedelta(milliseconds=200),
            maximum_interval=timedelta(seconds=2),
            non_retryable_error_types=["InvalidOrder"],
        ),
    )


def inventory(config: PipelineConfig) -> ActivityOptions:
    """Releases and status records: they must happen, however long the database is away."""
    return ActivityOptions(
        start_to_close_timeout=timedelta(seconds=config.step_timeout_seconds),
        retry_policy=_backoff(config),
    )


def charge(config: PipelineConfig) -> ActivityOptions:
    """A payment attempt is bounded by the payment timeout in all, retries included, so a
    buyer waiting on `POST /orders/{id}/payment` gets an answer."""
    return ActivityOptions(
        task_queue=config.payments_task_queue,
        start_to_close_timeout=timedelta(seconds=config.payment_timeout_seconds),
        schedule_to_close_timeout=timedelta(seconds=config.payment_timeout_seconds * 2),
        retry_policy=_backoff(config),
    )


def settle(config: PipelineConfig) -> ActivityOptions:
    """Deciding an open PaymentIntent (or refunding) must finish: no attempt limit."""
    return ActivityOptions(
        task_queue=config.payments_task_queue,
        start_to_close_timeout=timedelta(seconds=config.payment_timeout_seconds),
        retry_policy=_backoff(config),
    )


def fulfilment(config: PipelineConfig) -> ActivityOptions:
    """Issue, store, email: a bounded number of tries, then the order needs attention."""
    return ActivityOptions(
        task_queue=config.fulfilment_task_queue,
        start_to_close_timeout=timedelta(seconds=config.step_timeout_seconds),
        retry_policy=_backoff(config, maximum_attempts=config.step_max_attempts),
    )


def void(config: PipelineConfig) -> ActivityOptions:
    return ActivityOptions(
        task_queue=config.fulfilment_task_queue,
        start_to_close_timeout=timedelta(seconds=config.step_timeout_seconds),
        retry_policy=RetryPolicy(
            initial_interval=timedelta(seconds=config.retry_initial_interval_seconds),
            maximum_interval=timedelta(seconds=config.retry_max_interval_seconds),
            non_retryable_error_types=["TicketCheckedIn"],
        ),
    )


def notice(config: PipelineConfig) -> ActivityOptions:
    """An event-wide run's email to one buyer: it must go out, however long SMTP is away."""
    return ActivityOptions(
        task_queue=config.fulfilment_task_queue,
        start_to_close_timeout=timedelta(seconds=config.step_timeout_seconds),
        retry_policy=_backoff(config),
    )
