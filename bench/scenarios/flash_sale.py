"""Scenario 3: 10,000 buyers for 1,000 seats of one ticket type, 200 at a time, each paying at
once. The winners should hear "held" at once (201, not 202 after polling); the rest get a fast
409 at the door without starting a workflow, set beside a bare FastAPI endpoint that answers
409 under the same uvicorn flags. The same sale then runs on the create path before
RESERVE_IN_API (admission control, then waiting for the run), so the report sets the two
designs side by side. Afterwards, Postgres and the Stripe emulator must both show no seat sold
twice, and every seat sold. While the sale runs every process's CPU is snapshotted once a second,
so the winners' phase (to the first refusal) is accounted on its own (`flash_sale_winners.py`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from bench import cpu
from bench.bare_api import WITH_MIDDLEWARES
from bench.catalogue import CARD, create_event, order_body
from bench.load import LoadResult, closed_loop, http_client, per_second
from bench.outcome import Row, ScenarioResult, Series
from bench.scenarios.flash_sale_verdict import verify
from bench.scenarios.flash_sale_winners import winner_rows, winners_phase
from bench.stack import BenchStack

NAME = "flash_sale"
TARGET = 0.5
#: Refusals at the door of a sold-out type ÷ the bare 409 (issue 20, item 5).
DOOR_TARGET = 0.8


async def run(stack: BenchStack) -> ScenarioResult:
    options = stack.options
    seats, buyers, concurrency = (
        options.flash_seats,
        options.flash_buyers,
        options.flash_concurrency,
    )
    result = ScenarioResult(NAME)
    async with cpu.sampled(stack.tmp) as timeline:
        event, body, load = await _sale(stack, "flash sale")
    start = min(s.start for s in load.samples)
    # Admission control refuses once every seat is spoken for (admitted, its reservation on
    # its way), well before the last one is taken: from the first refusal on, buyers meet the
    # steady state that the bare endpoint is compared with.
    refusals = [s for s in load.samples if s.status == 409]
    spoken_for_at = min((s.start for s in refusals), default=max(s.end for s in load.samples))
    refusal_window = max((s.end for s in refusals), default=spoken_for_at) - spoken_for_at
    refusal_rate = len(refusals) / refusal_window if refusal_window > 0 else 0.0
    refused = LoadResult("our 409s", concurrency, refusals)

    async with http_client(stack.bare_api_url, concurrency) as http:

        async def refuse(_index: int) -> int:
            return (await http.post("/orders", body)).status

        bare = await closed_loop(
            "bare FastAPI 409",
            refuse,
            max(buyers - seats, 1),
            concurrency,
            options.max_wait_seconds,
        )

    verdict = await verify(stack, event["id"], seats, options.max_wait_seconds)
    door = await _door(stack, body, max(buyers - seats, 1), concurrency)
    before = await _design_before(stack)
    result.rows += winner_rows(load, before, seats)
    phase_rows, phase_cpu = winners_phase(timeline, load, start, spoken_for_at, concurrency)
    result.rows += phase_rows
    sold_at = verdict.last_seat_taken_at or max(s.end for s in load.samples)
    result.loads += [refused, bare]
    result.throughput += [
        Series(
            f"flash sale: {status} answers/s",
            per_second([s.end for s in load.samples if s.status == status], start),
        )
        for status in (201, 202, 409)
    ]
    result.rows += [
        Row(NAME, f"seats spoken for, first 409 ({seats} seats)", spoken_for_at - start, "s"),
        Row(NAME, f"seats sold, last one taken ({buyers} buyers)", sold_at - start, "s"),
        Row(
            NAME,
            "refusals/s from the first 409",
            refusal_rate,
            "/s",
            bare.rate(409),
            TARGET,
        ),
        Row(
            NAME,
            "refusal p99",
            refused.summary()["p99_ms"],
            "ms",
            bare.summary()["p99_ms"],
            higher_is_better=False,
        ),
        Row(
            NAME,
            "sold out: refusals/s at the door, after the sale",
            door["ours"],
            "/s",
            door["bare"],
            DOOR_TARGET,
        ),
        Row(
            NAME,
            "  the same: bare 409 with our middlewares (their cost)",
            door["with_middlewares"],
            "/s",
            door["bare"],
        ),
        Row(
            NAME,
            "  the same: ours ÷ bare 409 with our middlewares (our route's cost)",
            door["ours"],
            "/s",
            door["with_middlewares"],
        ),
        Row(
            NAME,
            "workflows started for buyers who got no seat",
            verdict.refused_by_workflow,
            "orders",
        ),
        Row(NAME, "oversold (Postgres)", verdict.oversold_postgres, "seats"),
        Row(NAME, "oversold (Stripe)", verdict.oversold_stripe, "seats"),
    ]
    result.details = {
        "answers": load.summary(),
        "refusals": refused.summary(),
        "bare_409": bare.summary(),
        "door_refusals_per_s": {side: round(rate, 1) for side, rate in door.items()},
        "seats_spoken_for_s": round(spoken_for_at - start, 3),
        "winners_phase_cpu_ms_per_winner": phase_cpu,
        "seats_sold_s": round(sold_at - start, 3),
        **dataclasses.asdict(verdict),
    }
    result.checks.update(
        {
            "0 oversold in Postgres": verdict.oversold_postgres == 0,
            "0 oversold in Stripe": verdict.oversold_stripe == 0,
            "no order charged twice": verdict.charged_twice == 0,
            "every seat sold": verdict.holding_orders == seats,
            "seat counts add up": verdict.seats["held"] + verdict.seats["available"] == seats,
        }
    )
    return result


async def _sale(stack: BenchStack, label: str) -> tuple[dict[str, Any], dict[str, Any], LoadResult]:
    """Every buyer of the sale asks for one seat of a new event's only type, paying at once."""
    options = stack.options
    async with http_client(stack.api_url, options.flash_concurrency) as http:
        event = await create_event(http, [options.flash_seats])
        body = order_body(event["id"], event["ticket_types"][0]["id"], CARD)

        async def buy(_index: int) -> int:
            return (await http.post("/orders", body)).status

        load = await closed_loop(
            label, buy, options.flash_buyers, options.flash_concurrency, options.max_wait_seconds
        )
    return event, body, load


async def _design_before(stack: BenchStack) -> LoadResult:
    """The same sale on the create path before RESERVE_IN_API (admission control, then the
    answer waiting for the run's reservation), in the same run; the API is put back after."""
    processes, overrides = stack.api_processes, dict(stack.settings_overrides)
    stack.start_api(processes, **{**overrides, "reserve_in_api": "false"})
    try:
        event, _, load = await _sale(stack, "flash sale, design before")
        await verify(stack, event["id"], stack.options.flash_seats, stack.options.max_wait_seconds)
    finally:
        stack.start_api(processes, **overrides)
    return load


async def _door(
    stack: BenchStack, body: dict[str, Any], count: int, concurrency: int
) -> dict[str, float]:
    """Refusals per second at the door of the sold-out type once the sale is over, when nothing
    else runs: ours, the bare 409 and the bare 409 with our middlewares, in turns (ours, bare,
    middlewares, then the other way round, half the requests each time) so a busy moment of
    the machine does not fall on one side only."""
    sides = {
        "ours": (stack.api_url, "/orders"),
        "bare": (stack.bare_api_url, "/orders"),
        "with_middlewares": (stack.bare_api_url, f"{WITH_MIDDLEWARES}/orders"),
    }
    refused = dict.fromkeys(sides, 0)
    elapsed = dict.fromkeys(sides, 0.0)
    for turn, side in enumerate([*sides, *reversed(sides)]):
        url, path = sides[side]
        async with http_client(url, concurrency) as http:

            async def refuse(_index: int, path: str = path) -> int:
                return (await http.post(path, body)).status

            half = count // 2 if turn < len(sides) else count - count // 2
            load = await closed_loop(
                f"door: {side}", refuse, max(half, 1), concurrency, stack.options.max_wait_seconds
            )
        refused[side] += sum(1 for s in load.samples if s.status == 409)
        elapsed[side] += load.elapsed
    return {side: refused[side] / elapsed[side] if elapsed[side] else 0.0 for side in sides}
