"""Our Prometheus metrics (all named `boxoffice_*`): the names and labels both kinds of process
share, and the API's (the workers' are in `worker_metrics.py`).

Each process keeps ours in a `CollectorRegistry` of its own, not prometheus_client's global
one: the API builds an `ApiMetrics` per `create_app()` (served at `GET /metrics`). Nothing is
registered at import time, so importing this module again never raises a duplicate-timeseries
error, and two apps in one test process never share counters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boxoffice.orders.domain import ROW_STATUSES, OrderStatus

log = logging.getLogger("boxoffice.metrics")

#: Status changes counted in `boxoffice_orders_total{status}`: every status a row may hold but
#: paying (an attempt in flight, counted in boxoffice_payments_total instead).
ORDER_STATUSES: Final = tuple(s for s in ROW_STATUSES if s != OrderStatus.PAYING)
#: `boxoffice_payments_total{outcome}`.
PAYMENT_OUTCOMES: Final = ("succeeded", "declined", "requires_action", "error")

#: `boxoffice_payment_attempts_total{outcome}`, counted by the API.
PAYMENT_ATTEMPT_OUTCOMES: Final = (
    "succeeded",
    "declined",
    "requires_action",
    "limited_order",
    "limited_client",
)

#: 10 ms .. 10 s: a reservation is one local activity, but waits on Temporal and Postgres.
RESERVATION_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: How `POST /orders` answered -> the reservation's outcome. Other answers (422, 404) are
#: refused before any reservation is tried and are not timed as one.
RESERVATION_OUTCOMES: Final = {
    201: OrderStatus.RESERVED,
    409: OrderStatus.SOLD_OUT,
    202: "undecided",
    503: "error",
}

NEEDS_ATTENTION_QUERY: Final = (
    f"SELECT count(*) FROM orders WHERE status = '{OrderStatus.NEEDS_ATTENTION.value}'"
)
NEEDS_ATTENTION_REFRESH_SECONDS: Final = 15.0


def add_process_collectors(registry: CollectorRegistry) -> None:
    """CPU, memory, open files and GC of this process, as the global registry would have."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


class NeedsAttentionCollector(Collector):
    """`boxoffice_orders_needing_attention`: orders waiting for support.

    A scrape reads a cached count and never waits on the database; `refresh_forever` runs one
    small query every `interval` seconds. A count older than four intervals (the database has
    been unreachable) is left out, so the series goes absent rather than showing stale data."""

    NAME: Final = "boxoffice_orders_needing_attention"
    HELP: Final = "Orders whose status is needs_attention (refreshed every few seconds)."

    def __init__(
        self,
        interval: float = NEEDS_ATTENTION_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._count: int | None = None
        self._counted_at = 0.0

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.NAME, self.HELP)]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self.NAME, self.HELP)
        count = self.count
        if count is not None:
            family.add_metric([], count)
        return [family]

    @property
    def count(self) -> int | None:
        """The last count, or None when there is none recent enough."""
        if self._count is None or self._clock() - self._counted_at > 4 * self.interval:
            return None
        return self._count

    def set(self, count: int) -> None:
        self._count = count
        self._counted_at = self._clock()

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        async with sessions() as session:
            count = int(await session.scalar(text(NEEDS_ATTENTION_QUERY)) or 0)
        self.set(count)
        return count

    async def refresh_forever(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Count now, then every `interval` seconds, until cancelled."""
        while True:
            try:
                await asyncio.wait_for(self.refresh(sessions), timeout=self.interval)
            except Exception as error:
                log.warning("could not count orders needing attention: %r", error)
            await asyncio.sleep(self.interval)


#: A request's count, duration and (POST /orders only) reservation time.
_RequestSeries = tuple[Counter, Histogram, Histogram | None]


class ApiMetrics:
    """The API process's metrics: HTTP requests, reservation latency, orders needing
    attention."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        process_collectors: bool = True,
        needs_attention_interval: float = NEEDS_ATTENTION_REFRESH_SECONDS,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.reservation_seconds = Histogram(
            "boxoffice_reservation_seconds",
            "Time for POST /orders to answer with the reservation decided, by outcome"
            " (undecided: answered 202 after RESERVATION_WAIT_SECONDS).",
            ["outcome"],
            buckets=RESERVATION_BUCKETS,
            registry=self.registry,
        )
        self.http_requests = Counter(
            "boxoffice_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "boxoffice_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.payment_attempts = Counter(
            "boxoffice_payment_attempts",
            "POST /orders/{id}/payment by outcome; limited_order and limited_client: refused"
            " (429) by the per-order and the per-client limits.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in PAYMENT_ATTEMPT_OUTCOMES:
            self.payment_attempts.labels(outcome)
        # (method, route template, status) -> its series; as many as the series themselves.
        self._series: dict[tuple[str, str, int], _RequestSeries] = {}
        self.needs_attention = NeedsAttentionCollector(needs_attention_interval)
        self.registry.register(self.needs_attention)
        if process_collectors:
            add_process_collectors(self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self._request_series(method, route, status)
        count, duration, reservation = series
        count.inc()
        duration.observe(seconds)
        if reservation is not None:
            reservation.observe(seconds)

    def _request_series(self, method: str, route: str, status: int) -> _RequestSeries:
        """A request's series, looked up once per kind of request: `labels()` takes a lock
        and checks its values every time, a good part of a refusal's cost in a flash sale."""
        outcome = RESERVATION_OUTCOMES.get(status)
        reserving = method == "POST" and route == "/orders" and outcome is not None
        return (
            self.http_requests.labels(method, route, str(status)),
            self.http_duration.labels(method, route),
            self.reservation_seconds.labels(outcome) if reserving else None,
        )


#: The route label of a request that matched no route (a 404): one series, not one per path.
UNMATCHED_ROUTE: Final = "<unmatched>"


class HttpMetricsMiddleware:
    """Counts and times every HTTP request by its route *template* (`/orders/{order_id}`, never
    the path itself, so label values stay few)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            self.metrics.observe_request(
                scope["method"], route_template(scope), status, time.perf_counter() - started
            )


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE
