"""Admission control (the create path with RESERVE_IN_API=false) counts the reservations on
their way: a buyer who comes after the seats are all spoken for is refused at once, and no
loser starts a workflow. On the real stack."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.testing import ActivityEnvironment

from boxoffice.orders.activities.inventory import InventoryActivities
from boxoffice.orders.admission.control import admit
from boxoffice.orders.messages import Buyer, OrderItem, ReserveInput
from boxoffice.orders.repository.admissions import begin_autocommit, end
from tests.conftest import Stack
from tests.purchases import available, create_event, general, order_body


async def _admit(stack: Stack, order_id: str, type_id: str, quantity: int = 1) -> str | None:
    async with stack.sessions() as session:
        await begin_autocommit(session)
        return await admit(session, order_id, [OrderItem(type_id, quantity)], lease_seconds=60)


async def _admitted(stack: Stack, type_id: str) -> dict[str, int]:
    async with stack.sessions() as session:
        rows = await session.execute(
            text("SELECT order_id, quantity FROM admissions WHERE ticket_type_id = :t"),
            {"t": type_id},
        )
        return {order_id: quantity for order_id, quantity in rows}


async def test_concurrent_buyers_are_admitted_for_the_seats_left_only(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=5)
    type_id = general(event)
    ids = [f"ord_adm_{uuid.uuid4().hex}" for _ in range(30)]
    refusals = await asyncio.gather(*(_admit(stack, order_id, type_id) for order_id in ids))
    admitted = [order_id for order_id, r in zip(ids, refusals, strict=True) if r is None]
    assert len(admitted) == 5
    assert set(await _admitted(stack, type_id)) == set(admitted)
    refused = {r for r in refusals if r is not None}
    assert refused == {
        "Not enough seats left for General (0 available; 5 more are being reserved by other"
        " buyers and go back on sale if those reservations fail)."
    }
    # A retried request of an admitted order is admitted again: its own seats do not count.
    assert await _admit(stack, admitted[0], type_id) is None
    # A withdrawn admission frees its seat for the next buyer.
    async with stack.sessions() as session, session.begin():
        await end(session, admitted[1])
    assert await _admit(stack, ids[-1] + "_late", type_id) is None
    assert await _admit(stack, ids[-1] + "_later", type_id) is not None


async def test_an_order_is_admitted_for_all_its_types_or_none(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=10)
    general_id = general(event)
    vip_id = next(t["id"] for t in event["ticket_types"] if t["name"] == "VIP")  # 5 seats
    both = sorted([OrderItem(general_id, 2), OrderItem(vip_id, 6)], key=lambda i: i.ticket_type_id)
    async with stack.sessions() as session:
        await begin_autocommit(session)
        refusal = await admit(session, f"ord_adm_{uuid.uuid4().hex}", both, lease_seconds=60)
        assert refusal == "Not enough seats left for VIP (5 available)."
        # The General seats it could have had were not admitted either.
        assert await _admitted(stack, general_id) == {}
    # The admission commits on its own, so it refuses to run inside a caller's transaction.
    async with stack.sessions() as session, session.begin():
        with pytest.raises(RuntimeError, match="commits on its own"):
            await admit(session, "ord_adm_x", both, lease_seconds=60)


async def test_a_reservation_ends_its_admission_in_its_own_transaction(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=2)
    type_id = general(event)
    winner, loser = f"ord_adm_{uuid.uuid4().hex}", f"ord_adm_{uuid.uuid4().hex}"
    assert await _admit(stack, winner, type_id, 2) is None
    inventory = InventoryActivities(stack.sessions)
    env = ActivityEnvironment()
    taken = await env.run(inventory.reserve_seats, _reserve(winner, event, 2))
    assert taken.reserved
    assert await _admitted(stack, type_id) == {}
    # Nothing was counted twice: the seats are gone from `available`, not from both.
    assert await _admit(stack, loser, type_id) == "Not enough seats left for General (0 available)."
    # A reservation refused by the workflow (a buyer admitted by a lapsed lease) ends its row too.
    await _write_admission(stack, loser, type_id, "1 minute")
    refused = await env.run(inventory.reserve_seats, _reserve(loser, event, 1))
    assert not refused.reserved
    assert await _admitted(stack, type_id) == {}


async def test_a_lapsed_admission_counts_no_more_and_is_cleared(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=1)
    type_id = general(event)
    crashed = f"ord_adm_{uuid.uuid4().hex}"
    # The API process that admitted this order died before starting its workflow.
    await _write_admission(stack, crashed, type_id, "-1 second")
    buyer = f"ord_adm_{uuid.uuid4().hex}"
    assert await _admit(stack, buyer, type_id) is None
    assert await _admitted(stack, type_id) == {buyer: 1}


async def test_buyers_after_the_seats_are_spoken_for_get_409_before_any_workflow(
    stack: Stack,
) -> None:
    """Two buyers' reservations are held up (their seats' row locked); a third buyer is refused
    at once, and when the two go through no order was ever started for anyone else."""
    with stack.other_api(reserve_in_api=False) as waiting:
        await _two_held_up_a_third_refused(waiting)


async def _two_held_up_a_third_refused(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=2)
        type_id = general(event)
        async with stack.sessions() as blocker, blocker.begin():
            # The lock a seat UPDATE takes, so reservations wait; admissions only read the row
            # (and their foreign key's KEY SHARE lock does not conflict with it).
            await blocker.execute(
                text("SELECT 1 FROM ticket_types WHERE id = :t FOR NO KEY UPDATE"), {"t": type_id}
            )
            first = [asyncio.create_task(http.post("/orders", json=order_body(event)))]
            first.append(asyncio.create_task(http.post("/orders", json=order_body(event))))
            await _until_admitted(stack, type_id, 2)
            late = await http.post("/orders", json=order_body(event))
            assert late.status_code == 409, late.text
            assert late.json()["detail"].startswith(
                "Not enough seats left for General (0 available; 2 more are being reserved"
            )
            assert await available(http, event["id"], type_id) == 2
        answers = await asyncio.gather(*first)
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        assert await available(http, event["id"], type_id) == 0
    async with stack.sessions() as session:
        statuses = (
            await session.execute(
                text("SELECT status FROM orders WHERE event_id = :e"), {"e": event["id"]}
            )
        ).scalars()
        assert sorted(statuses) == ["reserved", "reserved"]
    assert await _admitted(stack, type_id) == {}


async def _write_admission(stack: Stack, order_id: str, type_id: str, lasting: str) -> None:
    """An admission row as the API writes it, lasting from now (a negative span: lapsed)."""
    async with stack.sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO admissions (order_id, ticket_type_id, quantity, expires_at)"
                " VALUES (:o, :t, 1, now() + CAST(:lasting AS interval))"
            ),
            {"o": order_id, "t": type_id, "lasting": lasting},
        )


async def _until_admitted(stack: Stack, type_id: str, count: int) -> None:
    for _ in range(400):
        if len(await _admitted(stack, type_id)) == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} admissions never appeared: {await _admitted(stack, type_id)}")


def _reserve(order_id: str, event: dict[str, Any], quantity: int) -> ReserveInput:
    return ReserveInput(
        order_id=order_id,
        event_id=event["id"],
        items=[OrderItem(general(event), quantity)],
        buyer=Buyer("adm@example.com", "Ada Mission"),
        hold_expires_at=datetime.now(UTC) + timedelta(minutes=15),
    )
