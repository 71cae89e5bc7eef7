"""Metrics without a worker or a stack: the activity interceptor's counting rules, the
needs-attention gauge going absent when stale, modules that register nothing at import, and
the Grafana dashboard and Prometheus config matching the series we expose. On the real stack:
`tests/core/integration/test_metrics.py`."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from temporalio.exceptions import ApplicationError

from boxoffice.core.observability import metrics as metrics_module
from boxoffice.core.observability import worker_metrics as worker_metrics_module
from boxoffice.core.observability.interceptor import record_failure, record_success
from boxoffice.core.observability.metrics import ApiMetrics, NeedsAttentionCollector
from boxoffice.core.observability.worker_metrics import (
    WorkerMetrics,
    worker_metrics,
)
from boxoffice.core.settings import Settings
from boxoffice.orders.messages import (
    Done,
    PayResult,
    ReleaseInput,
    ReleaseResult,
    ReservedLine,
    ReserveResult,
    StatusChange,
)

# --- counting rules, without a worker ----------------------------------------------------


def test_interceptor_counting_rules() -> None:
    metrics = WorkerMetrics(CollectorRegistry(), process_collectors=False)

    def sample(name: str, **labels: str) -> float:
        return metrics.registry.get_sample_value(name, labels) or 0.0

    line = ReservedLine("tt", "General", 3, 4500)
    record_success(metrics, "reserve_seats", [None], ReserveResult(True, lines=[line, line]))
    record_success(metrics, "reserve_seats", [None], ReserveResult(False, reason="sold out"))
    assert sample("boxoffice_seats_sold_total") == 6
    assert sample("boxoffice_orders_total", status="reserved") == 1
    assert sample("boxoffice_orders_total", status="sold_out") == 1

    expired = ReleaseInput("ord_x", "expired")
    record_success(metrics, "release_seats", [expired], ReleaseResult(seats_released=3))
    record_success(metrics, "release_seats", [expired], ReleaseResult(seats_released=0))
    assert sample("boxoffice_seats_released_total") == 3
    assert sample("boxoffice_orders_total", status="expired") == 1

    record_success(metrics, "charge_payment", [None], PayResult("requires_action"))
    record_success(metrics, "settle_payment", [None], PayResult("succeeded"))
    record_failure(metrics, "charge_payment", ApplicationError("no", type="CardDeclined"))
    record_failure(metrics, "charge_payment", RuntimeError("Stripe is down"))
    assert sample("boxoffice_payments_total", outcome="requires_action") == 1
    assert sample("boxoffice_payments_total", outcome="succeeded") == 1
    assert sample("boxoffice_payments_total", outcome="declined") == 1
    assert sample("boxoffice_payments_total", outcome="error") == 1
    assert sample("boxoffice_orders_total", status="paid") == 1
    assert sample("boxoffice_steps_failed_total", step="charge_payment") == 1

    record_failure(metrics, "store_tickets_pdf", OSError("S3 is down"))
    attention = StatusChange("ord_x", "needs_attention", "store_tickets_pdf: S3 is down")
    record_success(metrics, "record_status", [attention], Done(changed=True))
    record_success(metrics, "record_status", [attention], Done(changed=False))
    record_success(metrics, "email_tickets", [None], None)
    assert sample("boxoffice_steps_failed_total", step="store_tickets_pdf") == 1
    assert sample("boxoffice_orders_total", status="needs_attention") == 2
    assert sample("boxoffice_orders_total", status="completed") == 1


def test_needs_attention_goes_absent_when_stale() -> None:
    now = [1000.0]
    collector = NeedsAttentionCollector(interval=15, clock=lambda: now[0])
    collector.set(4)
    (family,) = collector.collect()
    assert [s.value for s in family.samples] == [4]
    now[0] += 61
    (family,) = collector.collect()
    assert family.samples == []


def _import_again(module: Any) -> Any:
    assert module.__file__ is not None
    spec = importlib.util.spec_from_file_location(f"{module.__name__}_again", module.__file__)
    assert spec is not None and spec.loader is not None
    again = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(again)
    return again


def test_metrics_modules_can_be_imported_again() -> None:
    """Nothing registers at import, so a second copy of a module (a reload, a workflow
    sandbox) builds its metrics beside the first without a duplicate-timeseries error."""
    again = _import_again(metrics_module)
    first, second = again.ApiMetrics(), metrics_module.ApiMetrics()
    assert first.registry is not second.registry
    workers_again = _import_again(worker_metrics_module)
    assert workers_again.worker_metrics() is workers_again.worker_metrics()
    assert workers_again.worker_metrics() is not worker_metrics()


# --- the deployment files ----------------------------------------------------------------

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_dashboard_and_prometheus_config_match_the_metrics() -> None:
    """Every `boxoffice_*` series the Grafana dashboard queries exists, and Prometheus scrapes
    the ports the settings default to."""
    exposed = set()
    for registry in (
        ApiMetrics(process_collectors=False).registry,
        WorkerMetrics(CollectorRegistry(), process_collectors=False).registry,
    ):
        for family in registry.collect():
            exposed.add(family.name)
            exposed.update(f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_count"))
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "boxoffice.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for query in panel.get("targets", [])
        for name in re.findall(r"\bboxoffice_[a-z_]+", query["expr"])
    }
    assert queried, "the dashboard queries no boxoffice series"
    assert queried <= exposed, queried - exposed
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])

    scrape = (DEPLOY / "prometheus.yml").read_text()
    defaults = Settings(_env_file=None)
    assert f"port: {defaults.metrics_port}" in scrape
    assert f"port: {defaults.worker_metrics_port}" in scrape
    assert '"api:8000"' in scrape
