"""Counting what the activities do without touching them: a worker interceptor reads each
activity's name, input and result (or error) and moves our counters in `WorkerMetrics`.

Local activities (`reserve_seats`) run through the same activity inbound interceptor as the
others, so they are counted the same way. Counting is at least once: an activity whose result
was lost and which ran again (it is idempotent) is counted again; `release_seats` counts only
when it actually gave seats back, so its retries are not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from boxoffice.core.observability.metrics import ORDER_STATUSES, PAYMENT_OUTCOMES
from boxoffice.core.observability.worker_metrics import WorkerMetrics, worker_metrics
from boxoffice.orders.activities.payments import CARD_DECLINED, PAYMENT_METHOD_INVALID
from boxoffice.orders.domain import OrderStatus
from boxoffice.orders.messages import (
    Done,
    PayResult,
    ReleaseInput,
    ReleaseResult,
    ReserveResult,
    StatusChange,
)

log = logging.getLogger("boxoffice.metrics")

PAYMENT_ACTIVITIES: Final = frozenset({"charge_payment", "settle_payment"})
#: Errors that are the buyer's answer: counted as `declined` payments, not as failed steps.
DECLINE_TYPES: Final = frozenset({CARD_DECLINED, PAYMENT_METHOD_INVALID})


class MetricsInterceptor(Interceptor):
    """Give it to every Worker: `Worker(..., interceptors=[MetricsInterceptor()])`."""

    def __init__(self, metrics: WorkerMetrics | None = None) -> None:
        self.metrics = metrics if metrics is not None else worker_metrics()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountingActivityInbound(next, self.metrics)


class _CountingActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, metrics: WorkerMetrics) -> None:
        super().__init__(next)
        self._metrics = metrics

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        name = activity.info().activity_type
        try:
            result = await self.next.execute_activity(input)
        except Exception as error:
            _never_raise(record_failure, self._metrics, name, error)
            raise
        _never_raise(record_success, self._metrics, name, input.args, result)
        return result


def record_success(metrics: WorkerMetrics, name: str, args: Sequence[Any], result: Any) -> None:
    """Count what a completed activity did, from its name, input and result."""
    argument = args[0] if args else None
    if name == "reserve_seats" and isinstance(result, ReserveResult):
        if result.reserved:
            metrics.orders.labels(OrderStatus.RESERVED).inc()
            metrics.seats_sold.inc(sum(line.quantity for line in result.lines))
        else:
            metrics.orders.labels(OrderStatus.SOLD_OUT).inc()
    elif name == "release_seats" and isinstance(result, ReleaseResult):
        # Zero seats: a retry of a release already done, or a reservation that never took any.
        if result.seats_released > 0:
            metrics.seats_released.inc(result.seats_released)
            if isinstance(argument, ReleaseInput) and argument.final_status in ORDER_STATUSES:
                metrics.orders.labels(argument.final_status).inc()
    elif name in PAYMENT_ACTIVITIES and isinstance(result, PayResult):
        if result.status in PAYMENT_OUTCOMES:
            metrics.payments.labels(result.status).inc()
        if result.status == "succeeded":
            metrics.orders.labels(OrderStatus.PAID).inc()
    elif name == "email_tickets":
        metrics.orders.labels(OrderStatus.COMPLETED).inc()
    elif name == "record_status" and isinstance(argument, StatusChange):
        # needs_attention counts every time a step fails for good, even when the row already
        # showed it (a step that failed again after support's retry).
        changed = isinstance(result, Done) and result.changed
        if argument.status in ORDER_STATUSES and (
            changed or argument.status == OrderStatus.NEEDS_ATTENTION
        ):
            metrics.orders.labels(argument.status).inc()


def record_failure(metrics: WorkerMetrics, name: str, error: BaseException) -> None:
    """Count an activity attempt that raised."""
    declined = isinstance(error, ApplicationError) and error.type in DECLINE_TYPES
    if name in PAYMENT_ACTIVITIES:
        metrics.payments.labels("declined" if declined else "error").inc()
    if not declined:
        metrics.steps_failed.labels(name).inc()


def _never_raise(record: Callable[..., None], *args: Any) -> None:
    """Metrics must never fail an activity."""
    try:
        record(*args)
    except Exception:
        log.exception("could not count an activity's outcome")
