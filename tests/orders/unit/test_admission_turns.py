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


class _Crowd:
    """Requests of one body that stay inside their turn until released."""

    def __init__(self, turns: AdmissionTurns, body: OrderCreate) -> None:
        self._turns, self._body = turns, body
        self._release = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.inside = 0

    def send(self, count: int) -> None:
        self._tasks += [asyncio.create_task(self._ask()) for _ in range(count)]

    async def _ask(self) -> None:
        async with self._turns.turn(self._body):
            self.inside += 1
            await self._release.wait()
            self.inside -= 1

    async def finish(self) -> None:
        self._release.set()
        await asyncio.gather(*self._tasks)


async def test_requests_beyond_the_fixed_turns_go_on_while_the_seats_left_cover_them() -> None:
    """Once a reading says 10 seats are left, 10 one-seat requests are inside together
    although only 2 fixed turns exist; the 11th waits, and goes on when one leaves."""
    turns = AdmissionTurns(per_type=2)
    event, kind = uuid.uuid4(), uuid.uuid4()
    body = _body(event, kind)
    crowd = _Crowd(turns, body)
    async with turns.turn(body) as first:
        first.read({(event, kind): 10})
        crowd.send(10)
        await asyncio.sleep(0.01)
        # The first request and 9 more ask for 10 seats: all that are known to be left.
        assert crowd.inside == 9
        assert turns.waiting() == 11
    await asyncio.sleep(0.01)
    assert crowd.inside == 10  # the first one left: the last of the crowd went in
    await crowd.finish()
    assert turns.waiting() == 0


async def test_seats_taken_here_count_against_a_reading_taken_before_them() -> None:
    """Two requests reserve after a reader went in, and its reading says 5 seats: only 3 are
    known to be left (the 2 may be in the reading already: the estimate errs low)."""
    turns = AdmissionTurns(per_type=3)
    event, kind = uuid.uuid4(), uuid.uuid4()
    body = _body(event, kind)
    crowd = _Crowd(turns, body)
    async with turns.turn(body) as reader:
        for _ in range(2):
            async with turns.turn(body) as taker:
                taker.reserved()
        reader.read({(event, kind): 5})
        crowd.send(5)
        await asyncio.sleep(0.01)
        # The reader and 2 of the crowd by the fixed turns: 3 seats asked, 3 known left. Had
        # the reading been believed as it is, 2 more would be inside.
        assert crowd.inside == 2
        await crowd.finish()


async def test_waiting_requests_go_on_in_the_order_they_came() -> None:
    turns = AdmissionTurns(per_type=1)
    body = _body(uuid.uuid4(), uuid.uuid4())
    order: list[int] = []
    gate = asyncio.Event()

    async def ask(number: int) -> None:
        async with turns.turn(body):
            order.append(number)
            await gate.wait()

    async with turns.turn(body):
        waiting = []
        for number in range(5):
            waiting.append(asyncio.create_task(ask(number)))
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert order == []
    gate.set()
    await asyncio.gather(*waiting)
    assert order == [0, 1, 2, 3, 4]
