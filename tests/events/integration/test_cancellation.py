"""Cancelling an event on the real stack: 200 completed orders, 20 held and 5 paying at that
moment. Every payment is refunded once at the Stripe emulator, every seat and add-on is back,
every ticket is void at the gate, every buyer gets one email, and the report adds up."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import select, update

from boxoffice.core.database.models import Order, PaymentAttempt, Ticket
from boxoffice.worker import QUEUE_KINDS
from tests.conftest import Stack
from tests.orders.chaos.killable import WorkerPool
from tests.purchases import (
    card_payment_method,
    create_event,
    general,
    order_body,
    wait_for_status,
)

COMPLETED, HELD, PAYING = 200, 20, 5


def _body(event: dict[str, Any], n: int, payment: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event["id"],
        "items": [{"ticket_type_id": general(event), "quantity": 1}],
        "addons": [{"addon_id": event["addons"][0]["id"], "quantity": 1}],
        "buyer": {"email": f"buyer{n}@example.com", "name": f"Buyer {n}"},
    }
    if payment:
        body["payment_method"] = payment
    return body


_HELD_OR_LATER = ("reserved", "paying", "paid", "completed")


async def _orders(
    http: httpx.AsyncClient, event: dict[str, Any], numbers: range, payment: str | None
) -> list[str]:
    limit = asyncio.Semaphore(20)

    async def one(n: int) -> str:
        async with limit:
            created = await http.post("/orders", json=_body(event, n, payment))
            # 202: a burst of 200 on two cores can outlast the reservation's wait; the order
            # is held all the same, which is what this test needs (not a fast answer).
            assert created.status_code in (201, 202), created.text
            order_id: str = created.json()["id"]
            if created.status_code == 202:
                await wait_for_status(http, order_id, *_HELD_OR_LATER, within=120)
            return order_id

    return list(await asyncio.gather(*(one(n) for n in numbers)))


async def _wait_until_done(http: httpx.AsyncClient, event_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        progress: dict[str, Any] = (await http.get(f"/events/{event_id}/cancellation")).json()
        if progress["status"] == "done":
            return progress
        await asyncio.sleep(0.5)
    raise AssertionError(f"the cancellation never finished: {progress}")


@pytest.fixture
def second_worker(stack: Stack, tmp_path: Path) -> Iterator[None]:
    """One more worker process on every queue for this test's 425 runs. The stack's own
    workers share the test's process (and its GIL) with the API, so alone they use one core."""
    pool = WorkerPool(stack.settings, tmp_path)
    pool.start(",".join(QUEUE_KINDS))
    try:
        yield
    finally:
        pool.stop()


@pytest.mark.usefixtures("second_worker")
async def test_cancelling_an_event_refunds_every_buyer_once(stack: Stack) -> None:
    async with stack.http(timeout=120) as http:
        event = await create_event(http, capacity=300)
        with_parking = await http.post(
            f"/events/{event['id']}/addons",
            json={"name": "Parking", "price": 1000, "currency": "EUR", "stock": 300},
        )
        assert with_parking.status_code == 201, with_parking.text
        event = with_parking.json()
        completed = await _orders(http, event, range(COMPLETED), "pm_card_visa")
        held = await _orders(http, event, range(COMPLETED, COMPLETED + HELD), None)
        paying = await _orders(
            http, event, range(COMPLETED + HELD, COMPLETED + HELD + PAYING), None
        )
        for order_id in completed:
            await wait_for_status(http, order_id, "completed", within=120)

        preview = await http.post(
            f"/events/{event['id']}/cancel", json={"reason": "storm", "dry_run": True}
        )
        assert preview.status_code == 200, preview.text
        assert preview.json()["orders_by_status"] == {"completed": 200, "reserved": 25}
        assert preview.json()["refunds"] == [{"amount": 200 * 5500, "currency": "EUR"}]
        assert preview.json()["holds_to_release"] == 25
        unconfirmed = await http.post(f"/events/{event['id']}/cancel", json={"reason": "storm"})
        assert unconfirmed.status_code == 422
        assert (await http.get(f"/events/{event['id']}")).json()["status"] == "on_sale"

        # Five buyers pay at the moment the organiser cancels.
        payments = [
            asyncio.create_task(
                http.post(f"/orders/{o}/payment", json={"payment_method": "pm_card_visa"})
            )
            for o in paying
        ]
        started = await http.post(
            f"/events/{event['id']}/cancel",
            json={"reason": "The venue flooded.", "confirm": event["id"]},
        )
        assert started.status_code == 202, started.text
        assert started.headers["Location"] == f"/events/{event['id']}/cancellation"
        paid_answers = await asyncio.gather(*payments)
        assert {a.status_code for a in paid_answers} <= {200, 409}, [a.text for a in paid_answers]

        again = await http.post(
            f"/events/{event['id']}/cancel", json={"reason": "again", "confirm": event["id"]}
        )
        assert again.status_code == 409
        assert "was cancelled by test-staff" in again.json()["detail"]
        moved = await http.post(
            f"/events/{event['id']}/postpone",
            json={"starts_at": "2027-09-01T20:00:00+00:00", "reason": "no"},
        )
        assert moved.status_code == 409
        late = await http.post("/orders", json=_body(event, 999, "pm_card_visa"))
        assert late.status_code == 409
        assert "cancelled" in late.json()["detail"]

        progress = await _wait_until_done(http, event["id"])
        assert progress["orders_total"] == 225
        assert (progress["done"], progress["failed"], progress["left"]) == (225, 0, 0)
        assert sum(progress["outcomes"].values()) == 225
        final = (await http.get(f"/events/{event['id']}")).json()
        report = (await http.get(f"/events/{event['id']}/report")).json()
        sample = completed[:10]
        codes = [
            t["code"] for o in sample for t in (await http.get(f"/orders/{o}")).json()["tickets"]
        ]
        at_gate = [
            (await http.post("/tickets/validate", json={"code": c})).json()["result"] for c in codes
        ]

    all_orders = [*completed, *held, *paying]
    async with stack.sessions() as session:
        rows = await session.execute(select(Order).where(Order.event_id == uuid.UUID(event["id"])))
        statuses = {o.id: o.status for o in rows.scalars()}
        attempts = (
            await session.execute(
                select(PaymentAttempt).where(PaymentAttempt.order_id.in_(all_orders))
            )
        ).scalars()
        charged = [a for a in attempts if a.status == "succeeded"]
        tickets = (
            await session.execute(
                select(Ticket.order_id, Ticket.status).where(Ticket.order_id.in_(all_orders))
            )
        ).all()
        ticket_statuses = [status for _, status in tickets]
        ticketed = [order_id for order_id, _ in tickets]

    # Every order ended refunded (it was paid) or cancelled (it was held); none completed.
    assert set(statuses) == set(all_orders)
    assert {statuses[o] for o in completed} == {"refunded"}
    assert {statuses[o] for o in held} == {"cancelled"}
    assert {statuses[o] for o in paying} <= {"refunded", "cancelled"}
    # Every payment refunded exactly once, for what was charged.
    assert len(charged) == COMPLETED + sum(statuses[o] == "refunded" for o in paying)
    client = stripe.StripeClient(
        "sk_test_x", base_addresses={"api": stack.settings.stripe_api_base}
    )
    for attempt in charged:
        refunds = client.v1.refunds.list(params={"payment_intent": attempt.payment_intent_id})
        assert [(r.amount, r.status) for r in refunds.data] == [(attempt.amount, "succeeded")]
    # Every seat and add-on back; every ticket void, at the gate too. Each completed order had
    # its ticket; an order whose payment landed as the cancel came may be refunded before its
    # tickets were issued, so it has none.
    assert all(s == "void" for s in ticket_statuses)
    assert set(completed) <= set(ticketed) <= {a.order_id for a in charged}
    assert len(ticketed) == len(set(ticketed))  # one ticket per order
    assert set(at_gate) == {"void"}
    assert final["status"] == "cancelled"
    general_now = next(t for t in final["ticket_types"] if t["id"] == general(event))
    assert general_now["available"] == 300
    assert final["addons"][0]["available"] == 300
    # Every buyer one email about it.
    notices = [
        m for m in stack.services.mail.messages if m.subject == f"Cancelled: {event['name']}"
    ]
    per_buyer = sorted(r for m in notices for r in m.rcpt_tos)
    assert per_buyer == sorted(f"buyer{n}@example.com" for n in range(225))
    assert len({m.message_id for m in notices}) == 225
    # The report adds up: nothing sold or kept, everything refunded.
    ticket_line = next(x for x in report["lines"] if x["id"] == general(event))
    assert (ticket_line["sold"], ticket_line["held"], ticket_line["revenue"]) == (0, 0, 0)
    assert ticket_line["refunded"] == len(charged)
    (total,) = report["totals"]
    assert (total["orders_paid"], total["revenue"]) == (0, 0)
    assert total["orders_refunded"] == len(charged)
    assert total["refunded"] == len(charged) * 5500


async def _declined_intent(stack: Stack, http: httpx.AsyncClient) -> str:
    """A PaymentIntent at the emulator whose charge was declined (Stripe refuses to refund
    it), taken from a declined attempt of an order of another event."""
    other = await create_event(http)
    order = (await http.post("/orders", json=order_body(other, 1))).json()
    declining = card_payment_method(stack.settings.stripe_api_base, "4000000000000341")
    paid = await http.post(f"/orders/{order['id']}/payment", json={"payment_method": declining})
    assert paid.status_code == 402, paid.text
    async with stack.sessions() as session, session.begin():
        attempt = await session.scalar(
            select(PaymentAttempt).where(PaymentAttempt.order_id == order["id"])
        )
        assert attempt is not None
        intent = attempt.payment_intent_id
        attempt.payment_intent_id = f"{intent}_moved"  # the id is unique: free it
    return intent


async def test_an_order_stripe_will_not_refund_lands_with_support(stack: Stack) -> None:
    """The event's run does not stop at an order whose refund Stripe refuses: that order goes to
    needs_attention (its tickets void), the progress lists it as failed with Stripe's reason,
    and every other buyer is refunded."""
    async with stack.http() as http:
        event = await create_event(http, capacity=10)
        bodies = [
            {
                "event_id": event["id"],
                "items": [{"ticket_type_id": general(event), "quantity": 1}],
                "buyer": {"email": f"refusal{n}@example.com", "name": "R"},
                "payment_method": "pm_card_visa",
            }
            for n in range(3)
        ]
        orders = [(await http.post("/orders", json=b)).json()["id"] for b in bodies]
        for order_id in orders:
            await wait_for_status(http, order_id, "completed")
        # The order's payment, as Stripe knows it, is one it will not refund.
        refused_intent = await _declined_intent(stack, http)
        async with stack.sessions() as session, session.begin():
            await session.execute(
                update(PaymentAttempt)
                .where(PaymentAttempt.order_id == orders[0], PaymentAttempt.status == "succeeded")
                .values(payment_intent_id=refused_intent)
            )

        started = await http.post(
            f"/events/{event['id']}/cancel", json={"reason": "ill", "confirm": event["id"]}
        )
        assert started.status_code == 202, started.text
        progress = await _wait_until_done(http, event["id"])
        stuck = await wait_for_status(http, orders[0], "needs_attention")
        others = [await wait_for_status(http, o, "refunded") for o in orders[1:]]

    assert (progress["done"], progress["failed"], progress["left"]) == (3, 1, 0)
    assert progress["outcomes"] == {"failed": 1, "refunded": 2}
    assert list(progress["failures"]) == [orders[0]]
    assert "Stripe refused the refund" in progress["failures"][orders[0]]
    assert "Stripe refused the refund" in (stuck["last_error"] or "")
    assert {t["status"] for t in stuck["tickets"]} == {"void"}
    assert all(o["status"] == "refunded" for o in others)
    notices = [
        m for m in stack.services.mail.messages if m.subject == f"Cancelled: {event['name']}"
    ]
    (to_stuck,) = [m for m in notices if "refusal0@example.com" in m.rcpt_tos]
    body = to_stuck.message.get_body(("plain",))
    assert body is not None and "could not refund your payment" in body.get_content()
