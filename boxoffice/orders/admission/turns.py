"""Admission control in one API process: how many requests per ticket type go on to a
reservation at once; the others wait their turn, in order, and then ask the sold-out memory
again first.

A flash sale opens with hundreds of buyers at once, before any of them has seen the type sold
out. Sent to Postgres together, they queued for pooled connections in a process too busy to
hand them over quickly, and the buyers refused in that first burst waited 7 to 12 s for their
409 (`make bench`, scenario 3). Taking turns per type, most of them find the type remembered
sold out by the time their turn comes, and are refused from memory at once.

A fixed number of turns (`ADMISSIONS_AT_ONCE_PER_TYPE`) also made the *winners* queue: 8 at a
time, each waiting for a workflow start, answered about 16 buyers a second however many seats
were left. So beyond those turns a request also goes on when the seats this process knows to be
left cover it and every request already inside. As far as this process's own reservations go,
that estimate errs low (see `_Type.left`), so the requests let in beyond the fixed turns find
their seats and a burst's losers start no more runs than the fixed turns allow, while its
winners go on together. Seats taken elsewhere (another API process, a run reserving for itself
after the API's attempt failed) are not seen until the next reading, which every request
inside takes: until then the estimate can be high, and a request let in on it may start a run
that ends sold out. Nothing is oversold either way: the conditional UPDATE sells the seats."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from boxoffice.orders.schemas import OrderCreate

_Key = tuple[uuid.UUID, uuid.UUID]


@dataclass
class _Type:
    """One ticket type's turns in this process."""

    # Seats known to be left: a reading, less every reservation made here since the reader
    # went in (some of those may be in the reading already: counting them twice errs low).
    # Released holds leave more; seats taken by other processes are missed until the next
    # reading (see the module's docstring).
    left: int | None = None
    taken: int = 0  # seats reserved through this process while the type was remembered
    inside: int = 0  # requests inside
    seats: int = 0  # seats those requests ask for
    queue: deque[tuple[int, asyncio.Future[None]]] = field(default_factory=deque)

    def users(self) -> int:
        """Requests inside or waiting."""
        return self.inside + len(self.queue)


@dataclass
class _Place:
    key: _Key
    state: _Type
    quantity: int
    taken_before: int  # `state.taken` when the request went in


class Turn:
    """What a request holds while inside: it reports the seats it read and the ones it took."""

    def __init__(self, places: list[_Place]) -> None:
        self._places = places

    def read(self, left: Mapping[_Key, int]) -> None:
        """The seats left per (event, type), as this request read them from Postgres."""
        for place in self._places:
            reading = left.get(place.key)
            if reading is not None:
                state = place.state
                state.left = reading - (state.taken - place.taken_before)

    def reserved(self) -> None:
        """This request took its seats."""
        for place in self._places:
            state = place.state
            state.taken += place.quantity
            if state.left is not None:
                state.left -= place.quantity


class AdmissionTurns:
    def __init__(self, per_type: int) -> None:
        self._per_type = per_type
        self._types: dict[_Key, _Type] = {}

    @contextlib.asynccontextmanager
    async def turn(self, body: OrderCreate) -> AsyncIterator[Turn]:
        """Wait for a turn at every ticket type the request asks for (in id order, so two
        multi-type requests never wait on each other)."""
        asked: dict[_Key, int] = {}
        for item in body.items:
            key = (body.event_id, item.ticket_type_id)
            asked[key] = asked.get(key, 0) + item.quantity
        places: list[_Place] = []
        async with contextlib.AsyncExitStack() as stack:
            for key in sorted(asked):
                state = self._types.get(key)
                if state is None:
                    state = self._types[key] = _Type()
                stack.callback(self._leave, key, state)
                quantity = asked[key]
                await self._enter(state, quantity)
                stack.callback(self._out, state, quantity)
                places.append(_Place(key, state, quantity, state.taken))
            yield Turn(places)

    def _fits(self, state: _Type, quantity: int) -> bool:
        if state.inside < self._per_type:
            return True
        return state.left is not None and state.seats + quantity <= state.left

    async def _enter(self, state: _Type, quantity: int) -> None:
        if not state.queue and self._fits(state, quantity):
            self._in(state, quantity)
            return
        admitted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (quantity, admitted)
        state.queue.append(entry)
        try:
            await admitted
        except asyncio.CancelledError:
            if admitted.done() and not admitted.cancelled():
                self._out(state, quantity)  # let in just as it was cancelled: hand it on
            else:
                state.queue.remove(entry)
                self._wake(state)  # a smaller request behind it may fit now
            raise

    def _in(self, state: _Type, quantity: int) -> None:
        state.inside += 1
        state.seats += quantity

    def _out(self, state: _Type, quantity: int) -> None:
        state.inside -= 1
        state.seats -= quantity
        self._wake(state)

    def _wake(self, state: _Type) -> None:
        """Let waiting requests in, first come first served, while the first one fits."""
        while state.queue and self._fits(state, state.queue[0][0]):
            quantity, admitted = state.queue.popleft()
            self._in(state, quantity)
            admitted.set_result(None)

    def _leave(self, key: _Key, state: _Type) -> None:
        if state.users() == 0:
            del self._types[key]  # no memory kept for types nobody is asking for

    def waiting(self) -> int:
        """Requests holding or waiting for a turn (what the tests look at)."""
        return sum(state.users() for state in self._types.values())
