"""Prometheus metrics: the API's `GET /metrics`, the worker-side counters the activity interceptor
keeps (local activities included), a worker process's two metrics ports, and the Temporal SDK's
own `temporal_*` series. The counting rules and the deployment files, without a stack:
`tests/core/unit/test_metrics_rules.py`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from boxoffice.core.observability.metrics import NeedsAttentionCollector
from boxoffice.core.observability.worker_metrics import (
    temporal_runtime,
    worker_metrics,
)
from boxoffice.devstack.ports import free_port
from tests.conftest import Stack
from tests.purchases import (
    card_payment_method,
    create_event,
    order_body,
    wait_for_status,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(exposition: str) -> Samples:
    """Every sample of a Prometheus text exposition, keyed by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def worker_value(name: str, **labels: str) -> float:
    return worker_metrics().registry.get_sample_value(name, labels) or 0.0


async def eventually(check: Callable[[], bool], within: float = 10) -> None:
    """Counters move right after an activity returns, which may be just after its effect shows."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the metric never got there")
        await asyncio.sleep(0.05)


# --- a purchase, seen in the metrics ------------------------------------------------------


async def test_a_purchase_shows_in_api_and_worker_metrics(stack: Stack) -> None:
    before = {
        "completed": worker_value("boxoffice_orders_total", status="completed"),
        "reserved": worker_value("boxoffice_orders_total", status="reserved"),
        "paid": worker_value("boxoffice_orders_total", status="paid"),
        "sold": worker_value("boxoffice_seats_sold_total"),
        "succeeded": worker_value("boxoffice_payments_total", outcome="succeeded"),
    }
    async with stack.http() as http:
        event = await create_event(http)
        created = await http.post(
            "/orders",
            json=order_body(event, 2, "pm_card_visa"),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]
        await wait_for_status(http, order_id, "completed")
        await http.get("/no/such/route")
        response = await http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    api = parse(response.text)
    # The reservation's latency, by outcome, with buckets from 10 ms to 10 s.
    assert "boxoffice_reservation_seconds_bucket" in response.text
    assert value(api, "boxoffice_reservation_seconds_count", outcome="reserved") >= 1
    assert value(api, "boxoffice_reservation_seconds_bucket", outcome="reserved", le="+Inf") >= 1
    smallest = frozenset({("outcome", "reserved"), ("le", "0.01")})
    assert ("boxoffice_reservation_seconds_bucket", smallest) in api
    # HTTP requests by route template, never by raw path.
    assert value(api, "boxoffice_http_requests_total", method="POST", route="/orders", status="201")
    assert value(
        api, "boxoffice_http_requests_total", method="GET", route="/orders/{order_id}", status="200"
    )
    assert value(
        api, "boxoffice_http_requests_total", method="GET", route="<unmatched>", status="404"
    )
    assert order_id not in response.text
    assert "process_resident_memory_bytes" in response.text or sys.platform != "linux"
    # Counted at start-up by the API's background task, served from the cache.
    assert "boxoffice_orders_needing_attention" in response.text
    assert ("boxoffice_orders_needing_attention", frozenset()) in api

    # The worker side, counted by the interceptor. reserve_seats is a *local* activity: that
    # seats_sold moved shows the worker interceptor sees local activities too.
    await eventually(
        lambda: worker_value("boxoffice_orders_total", status="completed") > before["completed"]
    )
    assert worker_value("boxoffice_orders_total", status="reserved") > before["reserved"]
    assert worker_value("boxoffice_orders_total", status="paid") > before["paid"]
    assert worker_value("boxoffice_seats_sold_total") >= before["sold"] + 2
    assert worker_value("boxoffice_payments_total", outcome="succeeded") > before["succeeded"]


async def test_a_decline_and_a_cancel_show_in_worker_metrics(stack: Stack) -> None:
    declining = card_payment_method(stack.settings.stripe_api_base, "4000000000000341")
    before = {
        "declined": worker_value("boxoffice_payments_total", outcome="declined"),
        "charge_failed": worker_value("boxoffice_steps_failed_total", step="charge_payment"),
        "released": worker_value("boxoffice_seats_released_total"),
        "cancelled": worker_value("boxoffice_orders_total", status="cancelled"),
    }
    async with stack.http() as http:
        event = await create_event(http)
        order = (await http.post("/orders", json=order_body(event, 3))).json()
        declined = await http.post(
            f"/orders/{order['id']}/payment", json={"payment_method": declining}
        )
        assert declined.status_code == 402, declined.text
        cancelled = await http.post(f"/orders/{order['id']}/cancel", json={"reason": "x"})
        assert cancelled.status_code == 200, cancelled.text

    await eventually(
        lambda: worker_value("boxoffice_orders_total", status="cancelled") > before["cancelled"]
    )
    assert worker_value("boxoffice_payments_total", outcome="declined") > before["declined"]
    assert worker_value("boxoffice_seats_released_total") >= before["released"] + 3
    # A decline is the buyer's answer, not a failed step.
    assert (
        worker_value("boxoffice_steps_failed_total", step="charge_payment")
        == before["charge_failed"]
    )


async def test_needs_attention_count_matches_the_database(stack: Stack) -> None:
    collector = NeedsAttentionCollector()
    assert collector.count is None
    count = await collector.refresh(stack.sessions)
    async with stack.sessions() as session:
        expected = await session.scalar(
            text("SELECT count(*) FROM orders WHERE status = 'needs_attention'")
        )
    assert count == expected
    (family,) = collector.collect()
    assert [sample.value for sample in family.samples] == [count]


# --- the Temporal SDK's own metrics ------------------------------------------------------


@activity.defn(name="metrics_probe")
async def metrics_probe(name: str) -> str:
    return f"hello {name}"


@workflow.defn(name="MetricsProbe", sandboxed=False)
class MetricsProbe:
    @workflow.run
    async def run(self) -> str:
        remote: str = await workflow.execute_activity(
            "metrics_probe", "remote", start_to_close_timeout=timedelta(seconds=10)
        )
        local: str = await workflow.execute_local_activity(
            "metrics_probe", "local", start_to_close_timeout=timedelta(seconds=10)
        )
        return f"{remote}, {local}"


async def test_temporal_sdk_serves_its_metrics_through_prometheus(stack: Stack) -> None:
    port = free_port()
    runtime = temporal_runtime(f"127.0.0.1:{port}")
    client = await Client.connect(
        stack.settings.temporal_address,
        namespace=stack.settings.temporal_namespace,
        runtime=runtime,
    )
    queue = f"metrics-probe-{uuid.uuid4().hex}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[MetricsProbe],
        activities=[metrics_probe],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        result = await client.execute_workflow(MetricsProbe.run, id=queue, task_queue=queue)
    assert result == "hello remote, hello local"
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    # As the core writes them (counters without `_total`: counters_total_suffix is off).
    names = {
        line.split("{")[0].split(" ")[0]
        for line in response.text.splitlines()
        if line and not line.startswith("#")
    }
    assert "temporal_workflow_completed" in names
    assert "temporal_activity_execution_latency_bucket" in names
    assert "temporal_local_activity_execution_latency_bucket" in names
    assert "temporal_workflow_task_execution_latency_bucket" in names


def test_a_worker_process_serves_both_ports_offset_by_its_index() -> None:
    """What `_serve_in_process` sets up, in a process of its own (it sets the default
    Runtime, which this test process must keep)."""
    ours, sdk = free_port(), free_port()
    # Process index 1 uses base + 1; take ports whose +1 is free.
    script = (
        "import time\n"
        "from boxoffice.core.observability.worker_metrics import expose_worker_metrics\n"
        "from boxoffice.core.settings import Settings\n"
        f"expose_worker_metrics(Settings(_env_file=None, metrics_port={ours - 1},"
        f" worker_metrics_port={sdk - 1}), index=1)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METRICS_", "WORKER_"))}
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        with httpx.Client(trust_env=False, timeout=10) as http:
            ours_text = http.get(f"http://127.0.0.1:{ours}/metrics").text
            sdk_response = http.get(f"http://127.0.0.1:{sdk}/metrics")
        assert 'boxoffice_orders_total{status="needs_attention"} 0.0' in ours_text
        assert 'boxoffice_payments_total{outcome="requires_action"} 0.0' in ours_text
        assert sdk_response.status_code == 200
    finally:
        child.kill()
        child.wait(timeout=10)
