"""What well-behaved clients do while parts of the system fail: retry a create with the same
Idempotency-Key until it is decided, poll, and never give up on an order they started."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.purchases import order_body

#: Answers a client treats as "try again" (the API said so, or could not be reached).
_RETRY_STATUSES = {502, 503, 504}


@dataclass
class Answers:
    """Every HTTP status the API gave during a scenario, and any answer that broke the rules."""

    statuses: dict[int, int] = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)

    def note(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500 and response.status_code != 503:
            self.bad.append(f"{response.request.url.path} answered {response.status_code}")
        if response.status_code == 503:
            detail = _detail(response)
            if not detail:
                self.bad.append(f"503 without a JSON detail: {response.text[:200]}")


def _detail(response: httpx.Response) -> str | None:
    try:
        body: Any = response.json()
    except ValueError:
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) and detail else None


async def place_order(
    http: httpx.AsyncClient,
    event: dict[str, Any],
    *,
    quantity: int = 1,
    payment_method: str | None = None,
    answers: Answers | None = None,
    within: float = 120,
) -> tuple[str | None, int]:
    """POST /orders until the API decides (201 held, 409 sold out; a 202 is followed to its
    decision); the same Idempotency-Key every time, so retries can never make a second order."""
    key = str(uuid.uuid4())
    body = order_body(event, quantity, payment_method)
    deadline = time.monotonic() + within
    while True:
        try:
            response = await http.post("/orders", json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            response = None
        if response is not None:
            if answers is not None:
                answers.note(response)
            if response.status_code == 202:
                # Not decided at once (the API could not take the seats itself: the order's run
                # does): follow the order to its decision, as the Location says.
                pending = str(response.json()["id"])
                return pending, await _follow(http, pending, answers, deadline)
            if response.status_code not in _RETRY_STATUSES:
                order_id = response.json().get("id") if response.status_code < 300 else None
                return order_id, response.status_code
        if time.monotonic() > deadline:
            last = response.text if response is not None else "no answer"
            raise AssertionError(f"POST /orders was never decided; last answer {last}")
        await asyncio.sleep(0.5)


_HOLDING = {"reserved", "paying", "paid", "completed", "needs_attention"}


async def _follow(
    http: httpx.AsyncClient, order_id: str, answers: Answers | None, deadline: float
) -> int:
    """Poll a `202` order until decided: 201 when it holds seats, 409 when it does not."""
    while True:
        try:
            response = await http.get(f"/orders/{order_id}")
        except httpx.TransportError:
            response = None
        if response is not None:
            if answers is not None:
                answers.note(response)
            if response.status_code == 200:
                return 201 if response.json()["status"] in _HOLDING else 409
        if time.monotonic() > deadline:
            last = response.text if response is not None else "no answer"
            raise AssertionError(f"order {order_id} was never decided; last answer {last}")
        await asyncio.sleep(0.5)


async def pay(
    http: httpx.AsyncClient,
    order_id: str,
    payment_method: str = "pm_card_visa",
    answers: Answers | None = None,
) -> int:
    """One payment request; the caller polls the order for its outcome."""
    try:
        response = await http.post(
            f"/orders/{order_id}/payment", json={"payment_method": payment_method}
        )
    except httpx.TransportError:
        return 0
    if answers is not None:
        answers.note(response)
    return response.status_code


async def statuses(
    sessions: async_sessionmaker[AsyncSession], order_ids: Collection[str]
) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT id, status FROM orders WHERE id = ANY(:ids)"), {"ids": list(order_ids)}
        )
        return {row[0]: row[1] for row in rows.all()}


async def wait_for_statuses(
    sessions: async_sessionmaker[AsyncSession],
    order_ids: Collection[str],
    wanted: Iterable[str],
    within: float = 180,
) -> dict[str, str]:
    """Poll the order rows until every order is in one of `wanted`; fail with the stragglers."""
    targets = set(wanted)
    deadline = time.monotonic() + within
    while True:
        found = await statuses(sessions, order_ids)
        waiting = {oid: found.get(oid, "missing") for oid in order_ids}
        waiting = {oid: status for oid, status in waiting.items() if status not in targets}
        if not waiting:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"orders never reached {sorted(targets)}: {waiting}")
        await asyncio.sleep(0.3)


async def wait_for_row(
    sessions: async_sessionmaker[AsyncSession], query: str, params: dict[str, Any], within: float
) -> None:
    """Poll until `query` returns a row (e.g. "the order has tickets but no PDF yet")."""
    deadline = time.monotonic() + within
    while True:
        async with sessions() as session:
            if (await session.execute(text(query), params)).first() is not None:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"never true within {within:.0f} s: {query} {params}")
        await asyncio.sleep(0.05)


async def pay_until_paid(
    http: httpx.AsyncClient, chaos: Any, order_id: str, answers: Answers
) -> int:
    """Pay; when an attempt ends unpaid (settled as not completed), pay again. Attempts made."""
    attempts = 0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = (await statuses(chaos.world.sessions, [order_id]))[order_id]
        if status in ("paid", "completed", "needs_attention"):
            return attempts
        if status == "reserved":
            attempts += 1
            await pay(http, order_id, answers=answers)
        await asyncio.sleep(0.5)
    raise AssertionError(f"order {order_id} was never paid")
