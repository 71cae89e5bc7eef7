"""PostgreSQL stopped abruptly (`pg_ctl stop -m immediate`) while buyers are reserving, then
started again: no oversold seat, no hold lost, and meanwhile the API answers 503 with a clear
JSON message (never a 500), recovering by itself once the database is back."""

from __future__ import annotations

import asyncio
import random

import httpx

from tests.orders.chaos.buyers import (
    Answers,
    pay,
    place_order,
    statuses,
    wait_for_statuses,
)
from tests.orders.chaos.conftest import Chaos
from tests.orders.chaos.invariants import check_all
from tests.purchases import create_event, general


async def _while_down(http: httpx.AsyncClient, event: dict[str, object], answers: Answers) -> int:
    """What a buyer sees while the database is away: reads and creates answer 503."""
    seen = 0
    for request in (
        http.get(f"/events/{event['id']}"),
        http.post(
            "/orders",
            json={
                "event_id": event["id"],
                "items": [{"ticket_type_id": general(event), "quantity": 1}],
                "buyer": {"email": "down@example.com", "name": "Down"},
            },
        ),
    ):
        response = await request
        answers.note(response)
        if response.status_code != 503 and not _from_memory(response):
            answers.bad.append(f"{response.request.url.path} answered {response.status_code}")
        seen += 1
    return seen


def _from_memory(response: httpx.Response) -> bool:
    """Honest answers without the database: a type the API saw sold out within the last
    second is refused from its memory (`SoldOutMemo`; the full run, where the outages reach
    the sell-out, showed it), and an event page it rendered within CATALOGUE_CACHE_SECONDS is
    answered from the catalogue cache."""
    if response.request.method == "GET":
        return response.status_code == 200
    return response.status_code == 409 and str(response.json().get("detail", "")).startswith(
        "Not enough seats left"
    )


async def _arrive_and_order(
    http: httpx.AsyncClient, event: dict[str, object], answers: Answers
) -> tuple[str | None, int]:
    await asyncio.sleep(random.uniform(0, 2))
    return await place_order(http, event, quantity=1, answers=answers, within=300)


async def test_postgres_stopped_during_reservations(chaos: Chaos) -> None:
    cluster = chaos.cluster
    stops = chaos.sizes.postgres_stops
    per_stop = chaos.sizes.reservations_per_stop
    answers = Answers()
    # Fewer seats than buyers, so the outage hits the sold-out edge too.
    capacity = stops * per_stop * 2 // 3
    async with cluster.http(timeout=120) as http:
        event = await create_event(http, capacity=capacity)
        held: list[str] = []
        refused = 0
        down_answers = 0
        for _ in range(stops):
            # Buyers arrive over two seconds; the database goes away somewhere among them.
            buyers = [
                asyncio.create_task(_arrive_and_order(http, event, answers))
                for _ in range(per_stop)
            ]
            await asyncio.sleep(random.uniform(0.2, 1.0))
            await asyncio.to_thread(cluster.postgres.stop_immediately)
            down_answers += await _while_down(http, event, answers)
            await asyncio.sleep(random.uniform(1, 3))
            await asyncio.to_thread(cluster.postgres.start)
            for order_id, status in await asyncio.gather(*buyers):
                if status == 201 and order_id is not None:
                    held.append(order_id)
                else:
                    refused += 1
        # Every hold the API promised is there, still held, and can be paid for.
        found = await statuses(chaos.world.sessions, held)
        lost = [order_id for order_id in held if found.get(order_id) != "reserved"]
        for order_id in held:
            await pay(http, order_id, answers=answers)
    done = await wait_for_statuses(chaos.world.sessions, held, {"completed"})
    await chaos.record_history(held[0], "chaos_postgres_stopped_during_reservations")

    violations = answers.bad + [f"hold of order {order_id} lost" for order_id in lost]
    violations += await check_all(chaos.world, [event["id"]])
    chaos.reports.record(
        "postgres immediate stop during reservations",
        {
            "stops": stops,
            "buyers": stops * per_stop,
            "held": len(held),
            "refused": refused,
            "completed": sum(status == "completed" for status in done.values()),
            "503s": answers.statuses.get(503, 0),
            "answers while down": down_answers,
        },
        violations,
    )
