"""The API's short memory of sold-out ticket types: refuses only what it saw sold out, only for
its time, and only for that event's type."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable

from boxoffice.orders.admission.sold_out_memo import SoldOutMemo
from boxoffice.orders.schemas import OrderCreate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _body(event_id: uuid.UUID, *type_ids: uuid.UUID) -> OrderCreate:
    return OrderCreate.model_validate(
        {
            "event_id": str(event_id),
            "items": [{"ticket_type_id": str(t), "quantity": 1} for t in type_ids],
            "buyer": {"email": "ada@example.com", "name": "Ada"},
        }
    )


def _another_request(check: Callable[[OrderCreate], str | None], body: OrderCreate) -> str | None:
    """A check made by a request of its own (each runs in its own asyncio task's context)."""
    return contextvars.copy_context().run(check, body)


def test_refuses_a_remembered_type_until_its_time_runs_out() -> None:
    clock = Clock()
    memo = SoldOutMemo(ttl_seconds=1.0, clock=clock)
    event, gone, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    memo.remember(event, gone, "Not enough seats left for General (0 available).")

    assert memo.refusal(_body(event, gone)) == "Not enough seats left for General (0 available)."
    assert memo.refusal(_body(event, other, gone)) is not None  # any line sold out refuses
    assert memo.refusal(_body(event, other)) is None
    assert memo.refusal(_body(uuid.uuid4(), gone)) is None  # the pair, not the type alone

    clock.now += 1.01
    # Seats may be back: one request asks Postgres, the others are still refused meanwhile.
    asker = contextvars.copy_context()
    assert asker.run(memo.refusal, _body(event, gone)) is None
    assert _another_request(memo.refusal, _body(event, gone)) is not None
    # The one asking is checked again after its turn: still let through.
    assert asker.run(memo.refusal, _body(event, gone)) is None
    # Postgres let it through: the type is on sale again for everyone.
    memo.forget(_body(event, gone))
    assert memo.refusal(_body(event, gone)) is None
    assert memo.refusal(_body(event, gone)) is None


def test_a_question_that_never_came_back_is_asked_again_after_one_more_period() -> None:
    clock = Clock()
    memo = SoldOutMemo(ttl_seconds=1.0, clock=clock)
    event, gone = uuid.uuid4(), uuid.uuid4()
    memo.remember(event, gone, "gone")
    clock.now += 1.5
    # This request failed before remembering.
    assert _another_request(memo.refusal, _body(event, gone)) is None
    clock.now += 0.5
    assert _another_request(memo.refusal, _body(event, gone)) == "gone"
    clock.now += 0.6
    assert _another_request(memo.refusal, _body(event, gone)) is None
