"""Scenario 4: reservations per second on one ticket type against the same load spread over
100, through the API and straight at Postgres's conditional update. The seat counter is one
row; this shows whether that row is what limits a sale (it is not: Temporal is)."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Any

import psycopg

from bench.catalogue import create_event, order_body, ticket_types
from bench.load import LoadResult, closed_loop, http_client
from bench.outcome import Row, ScenarioResult
from bench.stack import BenchStack

NAME = "hot_row"
CONCURRENCY = 50
SQL_CONNECTIONS = 20
#: The statement `reserve_seats` takes seats with (one seat here), each in its own transaction.
TAKE_SEAT = (
    "UPDATE ticket_types SET available = available - 1"
    " WHERE id = %s AND available >= 1 RETURNING available"
)


async def run(stack: BenchStack) -> ScenarioResult:
    options = stack.options
    count, spread = options.hot_row_orders, options.hot_row_types
    result = ScenarioResult(NAME)
    async with http_client(stack.api_url, CONCURRENCY) as http:
        event = await create_event(http, [count])
        one = [(event["id"], event["ticket_types"][0]["id"])]
        many = await ticket_types(http, spread, count)
        loads = {}
        for label, layout in (("one ticket type", one), (f"{spread} ticket types", many)):
            bodies = itertools.cycle([order_body(e, t, None) for e, t in layout])

            async def reserve(
                _index: int, bodies: itertools.cycle[dict[str, object]] = bodies
            ) -> int:
                return (await http.post("/orders", next(bodies))).status

            loads[label] = await closed_loop(
                f"reservations, {label}", reserve, count, CONCURRENCY, options.max_wait_seconds
            )
        # Ticket types of their own, with a seat for every update, so each update writes.
        updates = options.hot_row_sql_updates
        sql_event = await create_event(http, [updates])
        sql_one = await _sql_rate(stack, [sql_event["ticket_types"][0]["id"]], updates)
        sql_types = await ticket_types(http, spread, updates // spread + 1)
        sql_many = await _sql_rate(stack, [t for _, t in sql_types], updates)
    one_load, many_load = loads["one ticket type"], loads[f"{spread} ticket types"]
    result.rows += [
        Row(
            NAME,
            f"API reservations/s, one type vs {spread}",
            one_load.rate(),
            "/s",
            many_load.rate(),
            note="expect about 1: the row is not the limit",
        ),
        Row(
            NAME,
            f"SQL conditional updates/s, one row vs {spread}",
            sql_one,
            "/s",
            sql_many,
            note=f"{SQL_CONNECTIONS} connections, autocommit",
        ),
    ]
    result.loads += [one_load, many_load]
    result.details = {
        "api_one_type": one_load.summary(),
        "api_spread": many_load.summary(),
        "sql_updates_per_s_one_row": round(sql_one, 1),
        "sql_updates_per_s_spread": round(sql_many, 1),
    }
    result.checks["every API reservation held"] = all(
        _all_201(load) for load in (one_load, many_load)
    )
    return result


def _all_201(load: LoadResult) -> bool:
    """Held at once (201) or after the API's wait (202); never refused or failed."""
    return set(load.statuses()) <= {"201", "202"}


async def _sql_rate(stack: BenchStack, type_ids: list[str], updates: int) -> float:
    """Conditional single-seat updates per second, round robin over `type_ids`."""
    ids = [uuid.UUID(t) for t in type_ids]
    counter = itertools.count()
    connections = [
        await psycopg.AsyncConnection.connect(stack.database_url, autocommit=True)
        for _ in range(SQL_CONNECTIONS)
    ]

    async def take_seats(conn: psycopg.AsyncConnection[Any]) -> None:
        while (n := next(counter)) < updates:
            await conn.execute(TAKE_SEAT, (ids[n % len(ids)],))

    try:
        started = time.perf_counter()
        await asyncio.gather(*(take_seats(conn) for conn in connections))
        return updates / (time.perf_counter() - started)
    finally:
        for conn in connections:
            await conn.close()
