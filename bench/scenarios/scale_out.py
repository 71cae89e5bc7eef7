"""Scenario 6: the same load with 1 and 2 worker processes (completed purchases per second; the
second process joins the running one, as a replica would), and with the API on 1 and 2 uvicorn
workers (reservations and refusals per second). On a 2-core
machine that also runs Temporal, Postgres and the load client, expect little."""

from __future__ import annotations

from bench.catalogue import create_event, order_body
from bench.load import LoadResult, closed_loop, http_client
from bench.outcome import Row, ScenarioResult
from bench.scenarios.pipeline import run_ours
from bench.stack import BenchStack

NAME = "scale_out"
CONCURRENCY = 50
REFUSALS_PER_ORDER = 10


async def run(stack: BenchStack) -> ScenarioResult:
    options = stack.options
    count = options.scale_out_orders
    result = ScenarioResult(NAME)
    pipelines = {}
    if stack.worker_processes != 1:
        stack.start_workers(1)
    for processes in (1, 2):
        if processes == 2:
            stack.add_worker_process()
        pipelines[processes] = await run_ours(
            stack, count, options.pipeline_concurrency, f"pipeline, {processes} worker process(es)"
        )
        result.checks[f"every order completed ({processes} worker processes)"] = (
            len(pipelines[processes].completed_at) == count
        )
    api: dict[int, tuple[LoadResult, LoadResult]] = {}
    for processes in (1, 2):
        if stack.api_processes != processes:
            stack.start_api(processes)
        api[processes] = await _api_load(stack, count)
    # Left as it is: open holds, which runs next, restarts what it needs.

    result.rows += [
        Row(
            NAME,
            "completed orders/s, 2 worker processes vs 1",
            pipelines[2].throughput,
            "/s",
            pipelines[1].throughput,
        ),
        Row(
            NAME,
            "reservations/s, API on 2 uvicorn workers vs 1",
            api[2][0].rate(),
            "/s",
            api[1][0].rate(),
        ),
        Row(
            NAME,
            "refusals/s, API on 2 uvicorn workers vs 1",
            api[2][1].rate(409),
            "/s",
            api[1][1].rate(409),
        ),
    ]
    result.details = {
        "pipeline_per_s": {str(p): round(run.throughput, 2) for p, run in pipelines.items()},
        "api": {
            str(p): {"reservations": res.summary(), "refusals": ref.summary(409)}
            for p, (res, ref) in api.items()
        },
    }
    for p, (res, ref) in api.items():
        result.checks[f"API on {p}: every reservation held"] = set(res.statuses()) <= {
            "201",
            "202",
        }
        result.checks[f"API on {p}: every refusal 409"] = ref.statuses() == {
            "409": len(ref.samples)
        }
    return result


async def _api_load(stack: BenchStack, count: int) -> tuple[LoadResult, LoadResult]:
    """Reservations on an event with seats, then refusals on one without."""
    options = stack.options
    async with http_client(stack.api_url, CONCURRENCY) as http:
        open_event = await create_event(http, [count])
        full_event = await create_event(http, [1])
        bodies = {
            201: order_body(open_event["id"], open_event["ticket_types"][0]["id"], None),
            409: order_body(full_event["id"], full_event["ticket_types"][0]["id"], None),
        }
        taken = await http.post("/orders", bodies[409])  # the one seat: now sold out
        if taken.status != 201:
            raise RuntimeError(f"taking the last seat answered {taken.status}")
        loads = []
        for status, n in ((201, count), (409, count * REFUSALS_PER_ORDER)):
            body = bodies[status]

            async def post(_index: int, body: dict[str, object] = body) -> int:
                return (await http.post("/orders", body)).status

            loads.append(
                await closed_loop(
                    f"API {stack.api_processes} proc: {status}",
                    post,
                    n,
                    CONCURRENCY,
                    options.max_wait_seconds,
                )
            )
    return loads[0], loads[1]
