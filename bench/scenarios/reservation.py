"""Scenario 1: how long `POST /orders` takes to answer "held until T", beside a bare
update-with-start round trip (an update that returns at once) on the same server."""

from __future__ import annotations

import uuid

from bench.bare_temporal import reserve_bare
from bench.catalogue import create_event, order_body
from bench.load import LoadResult, closed_loop, http_client
from bench.outcome import Row, ScenarioResult
from bench.stack import BARE_TASK_QUEUE, BenchStack

NAME = "reservation"
TARGET = 1.3
WARM_UP = 5


async def run(stack: BenchStack) -> ScenarioResult:
    options = stack.options
    result = ScenarioResult(NAME)
    seats = sum(options.reservation_requests.values()) + WARM_UP * len(options.reservation_levels)
    async with http_client(stack.api_url, 10) as http:
        event = await create_event(http, [seats])
    body = order_body(event["id"], event["ticket_types"][0]["id"], None)
    run_id = uuid.uuid4().hex[:8]
    for level in options.reservation_levels:
        count = options.reservation_requests[level]
        async with http_client(stack.api_url, level) as http:

            async def ours(_index: int) -> int:
                return (await http.post("/orders", body)).status

            await closed_loop("warm-up", ours, WARM_UP, 1, options.max_wait_seconds)
            mine = await closed_loop(
                f"POST /orders c={level}", ours, count, level, options.max_wait_seconds
            )

        async def bare(index: int, level: int = level) -> int:
            await reserve_bare(
                stack.temporal, f"bare-res-{run_id}-{level}-{index}", BARE_TASK_QUEUE
            )
            return 200

        await closed_loop("warm-up", bare, WARM_UP, 1, options.max_wait_seconds)
        baseline = await closed_loop(
            f"bare update-with-start c={level}", bare, count, level, options.max_wait_seconds
        )
        result.loads += [mine, baseline]
        result.rows += _rows(level, mine, baseline)
        result.details[f"c{level}"] = {"ours": mine.summary(), "bare": baseline.summary()}
        result.checks[f"c{level}: every buyer held seats (201, or 202 then decided)"] = set(
            mine.statuses()
        ) <= {"201", "202"}
    return result


def _rows(level: int, mine: LoadResult, baseline: LoadResult) -> list[Row]:
    # Every answer counts: a 202 is the API giving up waiting (5 s), not a faster answer.
    ours, bare = mine.summary(), baseline.summary()
    judged = [
        Row(
            NAME,
            f"{q} at {level} concurrent",
            ours[f"{q}_ms"],
            "ms",
            bare[f"{q}_ms"],
            TARGET,
            higher_is_better=False,
        )
        for q in ("p50", "p99")
    ]
    # Shown beside them: the rate each side answers at and its mean wait. In a closed loop the
    # mean is the buyers at once over that rate, so two sides answered at the same rate have
    # the same mean; their p50s then differ only in the order the answers come in.
    return [
        *judged,
        Row(
            NAME,
            f"mean at {level} concurrent",
            ours["mean_ms"],
            "ms",
            bare["mean_ms"],
            higher_is_better=False,
        ),
        Row(NAME, f"answers/s at {level} concurrent", ours["rate_per_s"], "/s", bare["rate_per_s"]),
    ]
