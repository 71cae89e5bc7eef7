"""Bad input gets a 4xx that says what is wrong, and nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Stack
from tests.purchases import available, create_event, general, order_body


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


@pytest.mark.parametrize(
    ("mutate", "status", "says"),
    [
        (lambda b, e: _with(b, event_id=str(uuid.uuid4())), 404, "No event with id"),
        (
            lambda b, e: _with(b, items=[{"ticket_type_id": str(uuid.uuid4()), "quantity": 1}]),
            422,
            "is not sold for this event",
        ),
        (
            lambda b, e: _with(b, items=[{"ticket_type_id": general(e), "quantity": 0}]),
            422,
            "items.0.quantity",
        ),
        (
            lambda b, e: _with(b, items=[{"ticket_type_id": general(e), "quantity": 11}]),
            422,
            "At most 10 tickets per order",
        ),
        (lambda b, e: _with(b, items=[]), 422, "items"),
        (
            lambda b, e: _with(b, buyer={"email": "not-an-email", "name": "X"}),
            422,
            "buyer.email",
        ),
        (lambda b, e: _with(b, status="completed"), 422, "status: Extra inputs"),
        (lambda b, e: _with(b, payment_method="card_4242"), 422, "payment_method"),
        (lambda b, e: _with(b, event_id="nope"), 422, "event_id"),
        # JSON "1" and true are not quantities.
        (
            lambda b, e: _with(b, items=[{"ticket_type_id": general(e), "quantity": "1"}]),
            422,
            "items.0.quantity: must be a JSON number, not a string or boolean",
        ),
        (
            lambda b, e: _with(b, items=[{"ticket_type_id": general(e), "quantity": True}]),
            422,
            "items.0.quantity",
        ),
        # Names reach emails, PDFs and terminals: no bidi overrides, no control characters.
        (
            lambda b, e: _with(b, buyer={"email": "a@example.com", "name": "Ada\u202egnp.exe"}),
            422,
            "buyer.name: must not be blank, nor hold control characters or invisible bidi marks",
        ),
        (
            lambda b, e: _with(b, buyer={"email": "a@example.com", "name": "Ada\x1b[2J"}),
            422,
            "buyer.name",
        ),
        (
            lambda b, e: _with(b, buyer={"email": "a@example.com", "name": "Ada\r\nBcc: x"}),
            422,
            "buyer.name",
        ),
    ],
)
async def test_create_order_refuses_bad_input(
    stack: Stack, mutate: Any, status: int, says: str
) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=5)
        response = await http.post("/orders", json=mutate(order_body(event), event))
        assert response.status_code == status, response.text
        assert says in response.json()["detail"]
        assert await available(http, event["id"], general(event)) == 5
    async with stack.sessions() as session:
        orders = await session.scalar(
            text("SELECT count(*) FROM orders WHERE event_id = :e"), {"e": event["id"]}
        )
    assert orders == 0


async def test_unknown_order_and_not_json(stack: Stack) -> None:
    async with stack.http() as http:
        missing = await http.get("/orders/ord_0000")
        assert missing.status_code == 404
        assert "No order with id" in missing.json()["detail"]
        pay = await http.post("/orders/ord_0000/payment", json={"payment_method": "pm_card_visa"})
        assert pay.status_code == 404
        cancel = await http.post("/orders/ord_0000/cancel")
        assert cancel.status_code == 404
        broken = await http.post(
            "/orders", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 422
        no_event = await http.get(f"/events/{uuid.uuid4()}")
        assert no_event.status_code == 404


async def test_create_event_refuses_bad_input(stack: Stack) -> None:
    async with stack.http() as http:
        naive = await http.post(
            "/events",
            json={
                "name": "X",
                "venue": "Y",
                "starts_at": "2030-01-01T20:00:00",
                "ticket_types": [{"name": "A", "price": 100, "currency": "EUR", "capacity": 1}],
            },
        )
        assert naive.status_code == 422
        assert "time zone" in naive.json()["detail"]
        negative = await http.post(
            "/events",
            json={
                "name": "X",
                "venue": "Y",
                "starts_at": "2030-01-01T20:00:00Z",
                "ticket_types": [{"name": "A", "price": -1, "currency": "eur", "capacity": 0}],
            },
        )
        assert negative.status_code == 422
        detail = negative.json()["detail"]
        assert "price" in detail and "currency" in detail and "capacity" in detail


async def test_readiness_and_docs(stack: Stack) -> None:
    async with stack.http() as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"ready": True, "database": "ok", "temporal": "ok"}
        schema = (await http.get("/openapi.json")).json()
        assert {"/orders", "/orders/{order_id}/payment", "/events"} <= set(schema["paths"])
        responses = schema["paths"]["/orders"]["post"]["responses"]
        assert {"201", "202", "409", "422"} <= set(responses)
