"""The door of a sold-out ticket type: a request the sold-out memory answers is refused 409 on
its body alone, before the bearer token and the rate limits; everything that may make an order
still goes through both. Over real HTTP, with a memory that outlasts the test."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import ApiServer, Stack, stack_settings
from tests.purchases import create_event, order_body

BAD_TOKEN = {"Authorization": "Bearer garbage"}


def _vip(event: dict[str, Any]) -> dict[str, Any]:
    vip = next(t["id"] for t in event["ticket_types"] if t["name"] == "VIP")
    return {**order_body(event), "items": [{"ticket_type_id": vip, "quantity": 1}]}


async def _orders(stack: Stack, event: dict[str, Any]) -> int:
    async with stack.sessions() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM orders WHERE event_id = :e"), {"e": event["id"]}
        )
    return int(count or 0)


async def test_a_remembered_sold_out_type_is_refused_before_the_token_is_read(
    stack: Stack,
) -> None:
    async with stack.http() as staff:
        event = await create_event(staff, capacity=1)
    with ApiServer(stack_settings(stack.services, sold_out_memory_seconds=60)) as api:
        async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=60) as http:
            # While seats are left, an invalid token is refused before any order is made.
            early = await http.post("/orders", json=order_body(event), headers=BAD_TOKEN)
            assert early.status_code == 401, early.text
            assert (await http.post("/orders", json=order_body(event))).status_code == 201
            from_postgres = await http.post("/orders", json=order_body(event))
            assert from_postgres.status_code == 409, from_postgres.text
            # Remembered now: the same answer for anyone, the token unread (it makes nothing).
            from_memory = await http.post("/orders", json=order_body(event), headers=BAD_TOKEN)
            assert from_memory.status_code == 409, from_memory.text
            assert from_memory.json() == from_postgres.json()
            assert from_memory.headers["Content-Type"] == "application/json"
            assert from_memory.headers["X-Content-Type-Options"] == "nosniff"
            assert from_memory.headers["Cache-Control"] == "no-store"
            # A keyed request may be the retry of the order that took the seat: it is never
            # refused from memory, so its token is checked first.
            keyed = await http.post(
                "/orders",
                json=order_body(event),
                headers={**BAD_TOKEN, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert keyed.status_code == 401, keyed.text
            # Another type of the same event is not sold out: the token is read.
            vip = await http.post("/orders", json=_vip(event), headers=BAD_TOKEN)
            assert vip.status_code == 401, vip.text
    assert await _orders(stack, event) == 1


async def test_rate_limits_count_the_requests_that_reach_the_service(stack: Stack) -> None:
    """A refusal from memory costs less than the limit's own query and gives nothing away, so
    it is not counted: a buyer refused at the door still has its requests for another type."""
    settings = stack_settings(
        stack.services,
        sold_out_memory_seconds=60,
        rate_limit_window_seconds=60,
        rate_limit_orders_per_client=3,
        rate_limit_orders_per_buyer=100,
    )
    async with stack.http() as staff:
        event = await create_event(staff, capacity=1)
    with ApiServer(settings) as api:
        async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=60) as http:
            # Two requests reach the service: the seat, then the refusal that is remembered.
            statuses = [(await http.post("/orders", json=order_body(event))).status_code]
            statuses.append((await http.post("/orders", json=order_body(event))).status_code)
            assert statuses == [201, 409], statuses
            at_the_door = [
                (await http.post("/orders", json=order_body(event))).status_code for _ in range(5)
            ]
            assert at_the_door == [409] * 5
            # The third request that reaches the service is allowed, the fourth is not.
            assert (await http.post("/orders", json=_vip(event))).status_code == 201
            keyed = await http.post(
                "/orders", json=order_body(event), headers={"Idempotency-Key": str(uuid.uuid4())}
            )
            assert keyed.status_code == 429, keyed.text
            assert int(keyed.headers["Retry-After"]) >= 1
    assert await _orders(stack, event) == 2
