"""A worker process's metrics: ours (`boxoffice_*`, one `WorkerMetrics` per process, filled by
the activity interceptor in `interceptor.py`, served on `METRICS_PORT`) and the Temporal SDK's
(`temporal_*`), which its Rust core serves itself on `WORKER_METRICS_PORT` once the process's
default Runtime is built by `temporal_runtime()`. Nothing is registered at import time."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, start_http_server
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from boxoffice.core.observability.metrics import (
    ORDER_STATUSES,
    PAYMENT_OUTCOMES,
    add_process_collectors,
)
from boxoffice.core.settings import Settings

log = logging.getLogger("boxoffice.metrics")


class WorkerMetrics:
    """What the activities did, as counted by `MetricsInterceptor`."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, process_collectors: bool = True
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.orders = Counter(
            "boxoffice_orders",
            "Order status changes recorded by the activities.",
            ["status"],
            registry=self.registry,
        )
        self.seats_sold = Counter(
            "boxoffice_seats_sold",
            "Seats taken by reservations (reserve_seats).",
            registry=self.registry,
        )
        self.seats_released = Counter(
            "boxoffice_seats_released",
            "Seats given back by expiry, cancel and refund (release_seats).",
            registry=self.registry,
        )
        self.payments = Counter(
            "boxoffice_payments",
            "Payment attempts by outcome (charge_payment and settle_payment).",
            ["outcome"],
            registry=self.registry,
        )
        self.steps_failed = Counter(
            "boxoffice_steps_failed",
            "Activity attempts that raised, by activity (a declined card is not counted here).",
            ["step"],
            registry=self.registry,
        )
        # Counted by the reconciliation's record_mismatches activity (its kinds and outcomes are
        # labelled up front there, where they are known).
        self.reconciliation_mismatches = Counter(
            "boxoffice_reconciliation_mismatches",
            "Mismatches between Stripe and our books found by reconciliation runs, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.reconciliation_fixes = Counter(
            "boxoffice_reconciliation_fixes",
            "Stray payments a reconciliation run handed to RefundLatePayment, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        # Every known label value from the start, so rates and dashboards see zeros, not gaps.
        for status in ORDER_STATUSES:
            self.orders.labels(status)
        for outcome in PAYMENT_OUTCOMES:
            self.payments.labels(outcome)
        if process_collectors:
            add_process_collectors(self.registry)


_worker_metrics: WorkerMetrics | None = None


def worker_metrics() -> WorkerMetrics:
    """This process's worker metrics, created on first use."""
    global _worker_metrics
    if _worker_metrics is None:
        _worker_metrics = WorkerMetrics()
    return _worker_metrics


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def temporal_runtime(prometheus_bind_address: str | None) -> Runtime:
    """A Temporal Runtime whose core serves `temporal_*` metrics at
    `http://<prometheus_bind_address>/metrics` (none when None), and forwards the core's
    warnings to Python logging (so they come out as JSON lines too)."""
    metrics = (
        PrometheusConfig(bind_address=prometheus_bind_address, durations_as_seconds=True)
        if prometheus_bind_address
        else None
    )
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
            metrics=metrics,
        )
    )


def expose_worker_metrics(settings: Settings, index: int = 0) -> None:
    """In a worker process, before any Temporal client exists: install the Temporal Runtime
    (SDK metrics on `worker_metrics_port + index`) as the default, and serve our metrics on
    `metrics_port + index`. A port that cannot be bound is logged, not fatal: a worker without
    metrics still sells tickets."""
    sdk_bind = (
        host_port(settings.metrics_host, settings.worker_metrics_port + index)
        if settings.worker_metrics_port
        else None
    )
    try:
        runtime = temporal_runtime(sdk_bind)
    except Exception as error:
        log.error("Temporal SDK metrics not served on %s: %s", sdk_bind, error)
        runtime = temporal_runtime(None)
    else:
        if sdk_bind:
            log.info("Temporal SDK metrics on http://%s/metrics", sdk_bind)
    Runtime.set_default(runtime, error_if_already_set=False)
    if settings.metrics_port:
        port = settings.metrics_port + index
        try:
            start_http_server(port, addr=settings.metrics_host, registry=worker_metrics().registry)
        except OSError as error:
            log.error("worker metrics not served on port %s: %s", port, error)
        else:
            log.info("worker metrics on http://%s/metrics", host_port(settings.metrics_host, port))
