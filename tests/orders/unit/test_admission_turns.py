"""Turns per ticket type: at most N requests of a type inside at once, other types unaffected,
and nothing kept once nobody asks."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from boxoffice.orders.admission.turns import AdmissionTurns
from boxoffice.orders.schemas import OrderCreate


def _body(event_id: uuid.UUID, *type_ids: uuid.UUID) -> OrderCreate:
    return OrderCreate.model_validate(
        {
            "event_id": str(event_id),
            "items": [{"ticket_type_id": str(t), "quantity": 1} for t in type_ids],
            "buyer": {"email": "ada@example.com", "name": "Ada"},
        }
    )


async def test_at_most_n_requests_of_a_type_at_once_and_other_types_pass() -> None:
    turns = AdmissionTurns(per_type=2)
    event, busy, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    inside: list[int] = []
    now_inside = 0
    release = asyncio.Event()

    async def ask(body: OrderCreate) -> None:
        nonlocal now_inside
        async with turns.turn(body):
            now_inside += 1
            inside.append(now_inside)
            await release.wait()
            now_inside -= 1

    crowd = [asyncio.create_task(ask(_body(event, busy))) for _ in range(6)]
    await asyncio.sleep(0.01)
    assert now_inside == 2 and turns.waiting() == 6
    # Another type is not held up by the crowd.
    async with asyncio.timeout(1):
        async with turns.turn(_body(event, other)):
            pass
    release.set()
    await asyncio.gather(*crowd)
    assert max(inside) == 2
    assert turns.waiting() == 0


async def test_a_request_cancelled_while_waiting_leaves_nothing_behind() -> None:
    turns = AdmissionTurns(per_type=1)
    body = _body(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with turns.turn(body):
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()

    async def wait_for_turn() -> None:
        async with turns.turn(body):
            raise AssertionError("got a turn that was held")

    waiter = asyncio.create_task(wait_for_turn())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiter
    release.set()
    await holder
    assert turns.waiting() == 0
