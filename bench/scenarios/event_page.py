"""Scenario 8: one on-sale event's page (`GET /shop/events/{id}`) under a flash-sale burst,
buyers refreshing it many at once, beside a bare FastAPI app serving a Jinja2 page of the
same size (`bench/bare_api.py`: our page's HTML, captured once, as a template's static text)
under the same uvicorn flags. Both sides are loaded in turns (ours, bare, bare, ours, twice),
so a machine getting busier or quieter during the scenario weighs on both alike. The buyers
keep the CSRF cookie their first view got, as a browser refreshing the page does."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import aiohttp

from bench.catalogue import create_event
from bench.load import LoadResult, browser, closed_loop, http_client
from bench.outcome import Row, ScenarioResult
from bench.stack import BenchStack

NAME = "event_page"
TARGET = 0.8
#: How far apart the two pages' sizes may be (bytes) for the comparison to hold.
SIZE_TOLERANCE = 0.05
#: The rounds, each an eighth of the views: a steady drift in the machine's load cancels out.
ROUNDS = ("ours", "bare", "bare", "ours") * 2

View = Callable[[int], Awaitable[int]]


async def run(stack: BenchStack) -> ScenarioResult:
    options = stack.options
    views, concurrency = options.page_views, options.page_concurrency
    result = ScenarioResult(NAME)
    async with http_client(stack.api_url, 10) as http:
        # A sale's page: the big ticket type on sale, two smaller ones beside it.
        seats = options.flash_seats
        event = await create_event(http, [seats, max(seats // 2, 1), max(seats // 10, 1)])
    path = f"/shop/events/{event['id']}"
    sizes: dict[str, list[int]] = {"ours": [], "bare": []}
    async with (
        browser(stack.api_url, concurrency) as ours,
        browser(stack.bare_api_url, concurrency) as bare,
    ):
        html = await _page(ours, path)  # the first view also loads the event into memory
        async with bare.put("/bare/page", data=html.encode()) as answer:
            answer.raise_for_status()

        def viewer(side: str, session: aiohttp.ClientSession) -> View:
            async def view(_index: int) -> int:
                async with session.get(path) as response:
                    body = await response.read()
                sizes[side].append(len(body))
                return response.status

            return view

        sides = {"ours": viewer("ours", ours), "bare": viewer("bare", bare)}
        for view in sides.values():  # every connection opened before the clock runs
            await closed_loop("warm-up", view, concurrency, concurrency, options.max_wait_seconds)
        rounds: dict[str, list[LoadResult]] = {"ours": [], "bare": []}
        for side in ROUNDS:
            rounds[side].append(
                await closed_loop(
                    side,
                    sides[side],
                    math.ceil(views / 2 / ROUNDS.count(side)),
                    concurrency,
                    options.max_wait_seconds,
                )
            )
    mine = _together("our event page", rounds["ours"])
    baseline = _together("bare Jinja2 page", rounds["bare"])
    our_size, bare_size = max(sizes["ours"]), max(sizes["bare"])
    result.loads += [mine, baseline]
    result.rows += [
        Row(
            NAME,
            f"pages/s ({concurrency} at once)",
            _rate(rounds["ours"]),
            "/s",
            _rate(rounds["bare"]),
            TARGET,
        ),
        *(
            Row(
                NAME,
                f"page {q}",
                mine.summary()[f"{q}_ms"],
                "ms",
                baseline.summary()[f"{q}_ms"],
                higher_is_better=False,
            )
            for q in ("p50", "p99")
        ),
        Row(NAME, "page size", our_size, "bytes", bare_size),
    ]
    result.details = {
        "path": "/shop/events/{event_id}",
        "ours": mine.summary(),
        "bare": baseline.summary(),
        "rounds": [load.summary() for load in rounds["ours"] + rounds["bare"]],
        "page_bytes": {side: [min(found), max(found)] for side, found in sizes.items()},
    }
    result.checks.update(
        {
            "every page answered 200": set(mine.statuses()) | set(baseline.statuses()) == {"200"},
            "the bare page is our page's size": abs(bare_size - our_size)
            <= SIZE_TOLERANCE * our_size,
        }
    )
    return result


async def _page(session: aiohttp.ClientSession, path: str) -> str:
    async with session.get(path) as response:
        response.raise_for_status()
        return await response.text()


def _together(label: str, loads: list[LoadResult]) -> LoadResult:
    """The rounds' answers as one load (for latencies; rates come from `_rate`)."""
    return LoadResult(label, loads[0].concurrency, [s for load in loads for s in load.samples])


def _rate(loads: list[LoadResult]) -> float:
    """Pages per second over the rounds' own time, not the other side's rounds between."""
    elapsed = sum(load.elapsed for load in loads)
    return sum(len(load.samples) for load in loads) / elapsed if elapsed > 0 else 0.0
