"""Scenario 3: 10,000 buyers for 1,000 seats of one ticket type, 200 at a time, each paying at
once. Exactly the seats sold hold orders; the rest get a fast 409 from admission control, set
beside a bare FastAPI endpoint that answers 409 under the same uvicorn flags. Afterwards,
Postgres and the Stripe emulator must both show no seat sold twice."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass

from bench import database
from bench.catalogue import CARD, create_event, order_body
from bench.load import LoadResult, closed_loop, http_client, per_second
from bench.outcome import Row, ScenarioResult, Series
from bench.scenarios.pipeline import wait_for_completion
from bench.stack import BenchStack
from bench.stripe_check import succeeded_charges

NAME = "flash_sale"
TARGET = 0.5
HOLDING = ("reserved", "paying", "paid", "completed", "needs_attention")


async def run(stack: BenchStack) -> ScenarioResult:
    options = stack.options
    seats, buyers, concurrency = (
        options.flash_seats,
        options.flash_buyers,
        options.flash_concurrency,
    )
    result = ScenarioResult(NAME)
    async with http_client(stack.api_url, concurrency) as http:
        event = await create_event(http, [seats])
        body = order_body(event["id"], event["ticket_types"][0]["id"], CARD)
        sold_out_at: list[float] = []
        watching = asyncio.create_task(_watch_sold_out(stack, event["id"], sold_out_at))

        async def buy(_index: int) -> int:
            return (await http.post("/orders", body)).status

        load = await closed_loop("flash sale", buy, buyers, concurrency, options.max_wait_seconds)
        watching.cancel()
    start = min(s.start for s in load.samples)
    sold_at = sold_out_at[0] if sold_out_at else max(s.end for s in load.samples)
    # The steady state the bare endpoint is compared with: buyers arriving once Postgres shows
    # no seat left. When every buyer came before that (a slow sale), all refusals count.
    refusals = [s for s in load.samples if s.status == 409 and s.start >= sold_at]
    window_start = sold_at
    if len(refusals) < max(10, buyers // 20):
        refusals = [s for s in load.samples if s.status == 409]
        window_start = min((s.end for s in refusals), default=sold_at)
    refusal_window = max((s.end for s in refusals), default=window_start) - window_start
    refusal_rate = len(refusals) / refusal_window if refusal_window > 0 else 0.0
    after_sold_out = window_start == sold_at
    refused = LoadResult(
        "our 409s" + (" (after sold out)" if after_sold_out else " (all)"), concurrency, refusals
    )

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

    verdict = await _verify(stack, event["id"], seats, options.max_wait_seconds)
    result.loads += [refused, bare]
    result.throughput += [
        Series(
            f"flash sale: {status} answers/s",
            per_second([s.end for s in load.samples if s.status == status], start),
        )
        for status in (201, 202, 409)
    ]
    result.rows += [
        Row(NAME, f"seats sold ({seats} seats, {buyers} buyers)", sold_at - start, "s"),
        Row(
            NAME,
            "refusals/s" + (" after sold out" if after_sold_out else " (all 409s)"),
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
        Row(NAME, "oversold (Postgres)", verdict.oversold_postgres, "seats"),
        Row(NAME, "oversold (Stripe)", verdict.oversold_stripe, "seats"),
    ]
    result.details = {
        "answers": load.summary(),
        "refusals": {**refused.summary(), "only_after_sold_out": after_sold_out},
        "bare_409": bare.summary(),
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


async def _watch_sold_out(stack: BenchStack, event_id: str, found: list[float]) -> None:
    """Note when Postgres first shows no seat left."""
    async with database.connect(stack.database_url) as conn:
        while True:
            if (await database.seats(conn, [event_id]))["available"] == 0:
                found.append(time.time())
                return
            await asyncio.sleep(0.1)


@dataclass
class Verdict:
    statuses: dict[str, int]
    seats: dict[str, int]
    holding_orders: int
    oversold_postgres: int
    paid_orders_stripe: int
    oversold_stripe: int
    charged_twice: int
    refused_by_workflow: int


async def _verify(stack: BenchStack, event_id: str, seats: int, within: float) -> Verdict:
    """Let every holder's purchase finish, then count seats in Postgres and charges in Stripe."""
    async with database.connect(stack.database_url) as conn:
        rows = await (
            await conn.execute(
                "SELECT id FROM orders WHERE event_id::text = %s AND status = ANY(%s)",
                (event_id, list(HOLDING)),
            )
        ).fetchall()
        holders = [str(r[0]) for r in rows]
    await wait_for_completion(stack, holders, within)
    async with database.connect(stack.database_url) as conn:
        seat_counts = await database.seats(conn, [event_id])
        statuses = await database.statuses(conn, [event_id])
        rows = await (
            await conn.execute("SELECT id FROM orders WHERE event_id::text = %s", (event_id,))
        ).fetchall()
    charges = succeeded_charges(stack.stripe_base, {str(r[0]) for r in rows})
    holding = sum(statuses.get(s, 0) for s in HOLDING)
    return Verdict(
        statuses=statuses,
        seats=seat_counts,
        holding_orders=holding,
        oversold_postgres=max(0, holding - seats, seat_counts["held"] - seats)
        + max(0, -seat_counts["available"]),
        paid_orders_stripe=len(charges),
        oversold_stripe=max(0, len(charges) - seats),
        charged_twice=sum(n - 1 for n in charges.values() if n > 1),
        refused_by_workflow=statuses.get("sold_out", 0),
    )
