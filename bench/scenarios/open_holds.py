"""Scenario 5: many orders holding seats at once (2,000; 10,000 with --full), none paying. The
worker pool's memory and workflow cache while they wait, and how long after each hold's expiry
its seats are back in Postgres."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import database
from bench.catalogue import create_event, order_body
from bench.load import closed_loop, http_client
from bench.outcome import Row, ScenarioResult, Series
from bench.processes import merged, rss_mib, scrape
from bench.stack import BenchStack

NAME = "open_holds"
CONCURRENCY = 50


def _worker_state(stack: BenchStack) -> dict[str, float]:
    """The pool's memory (every process, MiB) and its workflow caches, summed."""
    found = merged([scrape(p) for p in stack.worker_metric_ports()])
    state = {"rss_mib": round(sum(rss_mib(p) for p in stack.worker_pids()), 1)}
    for name, samples in found.items():
        if "sticky_cache" in name and not name.endswith("_created"):
            state[name.removeprefix("temporal_")] = sum(v for _, v in samples)
    return state


async def run(stack: BenchStack) -> ScenarioResult:
    options = stack.options
    holds, hold_seconds = options.open_holds, options.open_hold_seconds
    result = ScenarioResult(NAME)
    # Fresh processes: their memory and cache are this scenario's alone (not worth a restart at
    # the test's tiny sizes, where the figures are not read).
    if options.fresh_workers_for_holds or stack.worker_processes != options.processes:
        stack.start_workers(options.processes)
    else:
        stack.stop_extra_workers()
    stack.start_api(1, hold_seconds=str(hold_seconds))
    idle = _worker_state(stack)
    samples: list[dict[str, Any]] = []
    origin = time.time()
    async with http_client(stack.api_url, CONCURRENCY) as http:
        event = await create_event(http, [holds])
        body = order_body(event["id"], event["ticket_types"][0]["id"], None)
        watching = asyncio.create_task(_watch(stack, event["id"], origin, samples))

        async def hold(_index: int) -> int:
            return (await http.post("/orders", body)).status

        load = await closed_loop("open holds", hold, holds, CONCURRENCY, options.max_wait_seconds)
        opened = _worker_state(stack)
        all_back = await _wait_all_back(stack, event["id"], holds, options.max_wait_seconds)
        watching.cancel()
    after = _worker_state(stack)
    async with database.connect(stack.database_url) as conn:
        lag = await _expiry_lag(conn, event["id"])
        statuses = await database.statuses(conn, [event["id"]])
    peak = max((s["held"] for s in samples), default=0)
    result.rows += [
        Row(NAME, f"peak seats held at once (of {holds})", peak, "seats"),
        Row(
            NAME,
            "worker RSS, holds open",
            opened["rss_mib"],
            "MiB",
            idle["rss_mib"],
            higher_is_better=False,
            note="baseline: the same workers idle",
        ),
        Row(NAME, "all seats back after the last expiry", all_back - lag["last_expiry"], "s"),
        Row(NAME, "seat return after its hold's expiry, p99", lag["p99_s"], "s"),
    ]
    result.details = {
        "hold_seconds": hold_seconds,
        "opening": load.summary(),
        "opening_s": round(load.elapsed, 2),
        "worker_idle": idle,
        "worker_holds_open": opened,
        "worker_after_expiry": after,
        "expiry_lag": lag,
        "statuses": statuses,
        "timeline": samples[:: max(1, len(samples) // 200)],
    }
    result.throughput.append(
        Series("open holds: seats held", [int(s["held"]) for s in _per_second(samples)])
    )
    result.checks["every hold opened (201, or 202 then decided)"] = set(load.statuses()) <= {
        "201",
        "202",
    }
    result.checks["every seat back"] = statuses.get("expired", 0) == holds
    return result


async def _watch(
    stack: BenchStack, event_id: str, origin: float, samples: list[dict[str, Any]]
) -> None:
    async with database.connect(stack.database_url) as conn:
        while True:
            seats = await database.seats(conn, [event_id])
            samples.append({"t": round(time.time() - origin, 2), "held": seats["held"]})
            await asyncio.sleep(0.5)


def _per_second(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_second: dict[int, dict[str, Any]] = {}
    for s in samples:
        by_second[int(s["t"])] = s
    return [by_second[k] for k in sorted(by_second)]


async def _wait_all_back(stack: BenchStack, event_id: str, seats: int, within: float) -> float:
    """When every seat is available again (epoch seconds; the deadline's when they never are)."""
    deadline = time.monotonic() + stack.options.open_hold_seconds + within
    async with database.connect(stack.database_url) as conn:
        while time.monotonic() < deadline:
            if (await database.seats(conn, [event_id]))["available"] == seats:
                break
            await asyncio.sleep(0.2)
    return time.time()


async def _expiry_lag(conn: Any, event_id: str) -> dict[str, float]:
    """Seconds from each expired order's hold end to its seats' release (its row's update)."""
    rows = await (
        await conn.execute(
            "SELECT extract(epoch FROM hold_expires_at), extract(epoch FROM updated_at)"
            " FROM orders WHERE event_id::text = %s AND status = 'expired'",
            (event_id,),
        )
    ).fetchall()
    lags = sorted(float(done) - float(due) for due, done in rows)
    if not lags:
        return {"orders": 0, "last_expiry": time.time(), "p50_s": 0.0, "p99_s": 0.0, "max_s": 0.0}
    return {
        "orders": len(lags),
        "last_expiry": max(float(due) for due, _ in rows),
        "p50_s": round(lags[len(lags) // 2], 3),
        "p99_s": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 3),
        "max_s": round(lags[-1], 3),
    }
