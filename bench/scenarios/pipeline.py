"""Scenario 2: completed purchases per second (reserve, pay, issue, store, email), beside the
naive baseline (the same purchase as the Temporal samples would write it, `bench.naive`) and a
bare workflow of the same shape whose five steps do nothing; where the time goes per step comes
from the workers' SDK metrics, and the CPU per purchase of each process from /proc, ours and
the naive one measured in windows of their own."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench import cpu, database
from bench.bare_temporal import buy_bare
from bench.catalogue import CARD, create_event, order_body
from bench.load import Http, LoadResult, closed_loop, http_client, per_second
from bench.naive.load import charged_once, history_shape, run_naive
from bench.outcome import Row, ScenarioResult, Series
from bench.processes import merged, scrape
from bench.stack import BARE_TASK_QUEUE, BenchStack

NAME = "pipeline"
TARGET = 0.8
#: Ours ÷ naive, completed purchases per second.
NAIVE_TARGET = 1.0
#: Smaller runs (the test's) are not measurements: no warm-up of ours and the naive one.
WARM_UP_FROM = 20
#: Processes each side's CPU per purchase leaves out: the other side's and the idle baselines'.
NOT_OURS = ("naive worker", "bare worker", "bare API", "no-op steps")
NOT_NAIVE = ("API", "workers", "bare worker", "bare API", "no-op steps")


@dataclass
class PipelineRun:
    load: LoadResult
    order_ids: list[str]
    completed_at: list[float]
    steps: dict[str, dict[str, float]]
    #: CPU ms per completed purchase by part, over this run's window alone.
    cpu_ms: dict[str, float] | None = None

    @property
    def throughput(self) -> float:
        """Completed orders per second, from the first request to the last completion."""
        if not self.completed_at or not self.load.samples:
            return 0.0
        first = min(s.start for s in self.load.samples)
        return len(self.completed_at) / (max(self.completed_at) - first)


async def buy_through_api(http: Http, body: dict[str, Any], order_ids: list[str]) -> int:
    """Reserve, then pay in a second message, as a storefront does. Returns the payment's status
    (the reservation's when it was refused)."""
    created = await http.post("/orders", body)
    if created.status not in (201, 202):
        return created.status
    order_id = str(created.body["id"])
    order_ids.append(order_id)
    # Not decided within the API's wait: poll until it is (the order reads `pending`, or is not
    # found yet, until its reservation is decided; paying before that is refused with 409).
    for _ in range(600):  # 2 minutes at most
        undecided = isinstance(created.body, dict) and created.body.get("status") == "pending"
        if created.status not in (202, 404) and not undecided:
            break
        await asyncio.sleep(0.2)
        created = await http.get(f"/orders/{order_id}")
    paid = await http.post(f"/orders/{order_id}/payment", {"payment_method": CARD})
    return paid.status


async def run_ours(stack: BenchStack, count: int, concurrency: int, label: str) -> PipelineRun:
    """`count` purchases through the API; waits (bounded) until every one is completed."""
    options = stack.options
    async with http_client(stack.api_url, concurrency) as http:
        event = await create_event(http, [count])
        body = order_body(event["id"], event["ticket_types"][0]["id"], None)
        order_ids: list[str] = []
        before = sdk_metrics(stack)
        cpu_before = cpu.snapshot(stack.tmp)
        load = await closed_loop(
            label,
            lambda _i: buy_through_api(http, body, order_ids),
            count,
            concurrency,
            options.max_wait_seconds,
        )
    completed = await wait_for_completion(stack, order_ids, options.max_wait_seconds)
    cpu_ms = cpu.per_purchase(cpu_before, cpu.snapshot(stack.tmp), len(completed), NOT_OURS)
    steps = step_latencies(before, sdk_metrics(stack))
    return PipelineRun(load, order_ids, completed, steps, cpu_ms)


async def run_naive_measured(stack: BenchStack, count: int, concurrency: int) -> PipelineRun:
    """The naive baseline in a window of its own (ours' purchases all completed before it)."""
    before = scrape(stack.naive_metrics_port)
    cpu_before = cpu.snapshot(stack.tmp)
    naive = await run_naive(stack, count, concurrency, f"naive pipeline c={concurrency}")
    completed = await wait_for_completion(stack, naive.order_ids, stack.options.max_wait_seconds)
    cpu_ms = cpu.per_purchase(cpu_before, cpu.snapshot(stack.tmp), len(completed), NOT_NAIVE)
    steps = step_latencies(before, scrape(stack.naive_metrics_port))
    return PipelineRun(naive.load, naive.order_ids, completed, steps, cpu_ms)


async def wait_for_completion(
    stack: BenchStack, order_ids: list[str], within: float
) -> list[float]:
    deadline = time.monotonic() + within
    async with database.connect(stack.database_url) as conn:
        while True:
            done = await database.finished_at(conn, order_ids, "completed")
            if len(done) >= len(order_ids) or time.monotonic() > deadline:
                return done
            await asyncio.sleep(0.5)


async def run_bare(stack: BenchStack, count: int, concurrency: int) -> LoadResult:
    run_id = uuid.uuid4().hex[:8]

    async def buy(index: int) -> int:
        await buy_bare(stack.temporal, f"bare-buy-{run_id}-{index}", BARE_TASK_QUEUE)
        return 200

    return await closed_loop(
        "bare pipeline", buy, count, concurrency, stack.options.max_wait_seconds
    )


def sdk_metrics(stack: BenchStack) -> dict[str, list[tuple[dict[str, str], float]]]:
    return merged([scrape(port) for port in stack.worker_metric_ports()])


def step_latencies(
    before: dict[str, list[tuple[dict[str, str], float]]],
    after: dict[str, list[tuple[dict[str, str], float]]],
) -> dict[str, dict[str, float]]:
    """Mean seconds per step over the run, from the SDK's latency histograms: each activity's
    execution and its wait in the task queue (schedule-to-start), and workflow tasks."""

    def sums(found: dict[str, list[tuple[dict[str, str], float]]], name: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for labels, value in found.get(name, []):
            key = labels.get("activity_type") or labels.get("workflow_type") or "all"
            out[key] = out.get(key, 0.0) + value
        return out

    figures: dict[str, dict[str, float]] = {}
    for metric in (
        "temporal_activity_execution_latency",
        "temporal_activity_schedule_to_start_latency",
        "temporal_local_activity_execution_latency",
        "temporal_workflow_task_execution_latency",
        "temporal_workflow_task_schedule_to_start_latency",
    ):
        total_before, total_after = sums(before, f"{metric}_sum"), sums(after, f"{metric}_sum")
        count_before, count_after = sums(before, f"{metric}_count"), sums(after, f"{metric}_count")
        for key, value in total_after.items():
            n = count_after.get(key, 0.0) - count_before.get(key, 0.0)
            if n > 0:
                mean = (value - total_before.get(key, 0.0)) / n
                short = metric.removeprefix("temporal_").removesuffix("_latency")
                figures.setdefault(key, {})[f"{short}_ms"] = round(mean * 1000, 1)
                figures[key][f"{short}_count"] = n
    return figures


async def run(stack: BenchStack) -> ScenarioResult:
    options = stack.options
    count, concurrency = options.pipeline_orders, options.pipeline_concurrency
    result = ScenarioResult(NAME)
    stack.start_naive_worker()
    try:
        await run_bare(stack, 5, 5)  # warm-up
        if count >= WARM_UP_FROM:  # each side's first runs (imports, pools) out of its window
            await run_naive(stack, 2, 2, "naive warm-up")
            await run_ours(stack, 2, 2, "our warm-up")
        mine = await run_ours(stack, count, concurrency, f"our pipeline c={concurrency}")
        naive = await run_naive_measured(stack, count, concurrency)
    finally:
        stack.naive_worker.stop()
    _compare_naive(result, mine, naive, count, concurrency)
    result.checks["every naive purchase completed, charged once at Stripe"] = len(
        naive.completed_at
    ) == count == len(naive.order_ids) and charged_once(stack, naive.order_ids)
    baseline = await run_bare(stack, count, concurrency)
    bare_rate = len(baseline.samples) / baseline.elapsed if baseline.elapsed else 0.0
    result.rows.append(
        Row(NAME, f"completed orders/s ({count} orders)", mine.throughput, "/s", bare_rate, TARGET)
    )
    start = min(s.start for s in mine.load.samples)
    bare_start = min(s.start for s in baseline.samples)
    result.throughput += [
        Series("our pipeline: completed/s", per_second(mine.completed_at, start)),
        Series(
            "bare pipeline: completed/s", per_second([s.end for s in baseline.samples], bare_start)
        ),
    ]
    result.details = {
        "ours": {
            "orders": count,
            "completed": len(mine.completed_at),
            "throughput_per_s": round(mine.throughput, 2),
            "payment_answers": mine.load.statuses(),
            "steps": mine.steps,
            "cpu_ms_per_purchase": mine.cpu_ms,
            "history_events": await history_shape(stack, mine.order_ids),
        },
        "naive": {
            "orders": count,
            "completed": len(naive.completed_at),
            "throughput_per_s": round(naive.throughput, 2),
            "answers": naive.load.statuses(),
            "steps": naive.steps,
            "cpu_ms_per_purchase": naive.cpu_ms,
            "history_events": await history_shape(stack, naive.order_ids),
        },
        "bare": baseline.summary(),
    }
    result.checks["every order completed"] = len(mine.completed_at) == count
    result.checks["every bare order completed"] = baseline.statuses() == {"200": count}
    if options.pipeline_noop_orders:
        noop = await _run_with_noop_steps(stack, options.pipeline_noop_orders, concurrency)
        result.rows.append(
            Row(
                NAME,
                f"same, charge/issue/store/email as no-ops ({options.pipeline_noop_orders})",
                noop.throughput,
                "/s",
                bare_rate,
                TARGET,
            )
        )
        result.throughput.append(
            Series(
                "our pipeline, steps as no-ops: completed/s",
                per_second(noop.completed_at, min(s.start for s in noop.load.samples)),
            )
        )
        result.details["ours_with_noop_steps"] = {
            "orders": options.pipeline_noop_orders,
            "completed": len(noop.completed_at),
            "throughput_per_s": round(noop.throughput, 2),
            "steps": noop.steps,
        }
        result.checks["every order completed (no-op steps)"] = (
            len(noop.completed_at) == options.pipeline_noop_orders
        )
    return result


async def _run_with_noop_steps(stack: BenchStack, count: int, concurrency: int) -> PipelineRun:
    """Our workflow and reservation as they are; the steps behind Stripe, PDF, S3 and SMTP
    replaced by no-ops in a process of their own (`bench.noop_steps`)."""
    stack.start_workers(stack.options.processes, queues="purchases")
    stack.start_noop_steps()
    try:
        return await run_ours(stack, count, concurrency, "our pipeline, steps as no-ops")
    finally:
        stack.noop_steps.stop()
        stack.start_workers(stack.options.processes)


def _compare_naive(
    result: ScenarioResult, mine: PipelineRun, naive: PipelineRun, count: int, concurrency: int
) -> None:
    """Ours beside the naive baseline: throughput (judged), CPU per purchase (shown)."""
    result.rows.append(
        Row(
            NAME,
            f"completed orders/s vs naive Temporal ({count}, {concurrency} at once)",
            mine.throughput,
            "/s",
            naive.throughput,
            NAIVE_TARGET,
        )
    )
    ours_cpu, naive_cpu = mine.cpu_ms or {}, naive.cpu_ms or {}
    for part, label in (
        ("total", "CPU ms per completed order, all processes"),
        ("workers", "CPU ms per completed order, workers"),
        ("Temporal", "CPU ms per completed order, Temporal server"),
    ):
        theirs = naive_cpu.get("naive worker" if part == "workers" else part)
        result.rows.append(
            Row(NAME, label, ours_cpu.get(part, 0.0), "ms", theirs, None, higher_is_better=False)
        )
    result.throughput.append(
        Series(
            "naive pipeline: completed/s",
            per_second(naive.completed_at, min(s.start for s in naive.load.samples)),
        )
    )
