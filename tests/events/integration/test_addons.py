"""Add-ons on the real stack: sold with tickets (never alone), never oversold, charged in the
same payment, on the receipt email and the PDF, released and refunded with the order, and in
the sales report."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import httpx
import pypdf
import stripe

from tests.conftest import Stack
from tests.purchases import create_event, order_body, wait_for_status

PARKING = {"name": "Parking", "price": 1500, "currency": "EUR", "stock": 3, "max_per_order": 2}


async def _event_with_parking(http: httpx.AsyncClient, **parking: Any) -> dict[str, Any]:
    event = await create_event(http)
    added = await http.post(f"/events/{event['id']}/addons", json={**PARKING, **parking})
    assert added.status_code == 201, added.text
    shown: dict[str, Any] = added.json()
    return shown


def _parking(event: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in event["addons"] if a["name"] == "Parking")
    return found


def _with_addon(
    event: dict[str, Any], quantity: int, tickets: int = 1, payment: str | None = "pm_card_visa"
) -> dict[str, Any]:
    return {
        **order_body(event, tickets, payment),
        "addons": [{"addon_id": _parking(event)["id"], "quantity": quantity}],
    }


async def _left(http: httpx.AsyncClient, event_id: str) -> int:
    public = (await http.get(f"/events/{event_id}")).json()
    return int(_parking(public)["available"])


async def test_an_addon_is_charged_listed_and_given_back(stack: Stack) -> None:
    async with stack.http() as http:
        event = await _event_with_parking(http)
        assert _parking((await http.get(f"/events/{event['id']}")).json())["max_per_order"] == 2
        created = await http.post("/orders", json=_with_addon(event, 2, tickets=2))
        assert created.status_code == 201, created.text
        order = await wait_for_status(http, created.json()["id"], "completed")
        # Two General tickets (45.00) and two parking places (15.00).
        assert order["total"] == {"amount": 2 * 4500 + 2 * 1500, "currency": "EUR"}
        assert [(a["name"], a["quantity"], a["unit_price"]) for a in order["addons"]] == [
            ("Parking", 2, 1500)
        ]
        assert len(order["tickets"]) == 2
        assert await _left(http, event["id"]) == 1
        pdf = (await http.get(order["tickets_pdf_url"])).content

        payments = await http.get(f"/admin/orders/{order['id']}")
        intent = payments.json()["payments"][0]["payment_intent_id"]
        stripe_client = stripe.StripeClient(
            "sk_test_x", base_addresses={"api": stack.settings.stripe_api_base}
        )
        charged = stripe_client.v1.payment_intents.retrieve(intent)
        assert charged.amount == 12000

        cancelled = await http.post(f"/orders/{order['id']}/cancel", json={"reason": "no car"})
        assert cancelled.status_code == 200, cancelled.text
        await wait_for_status(http, order["id"], "refunded")
        assert await _left(http, event["id"]) == 3
        report = (await http.get(f"/events/{event['id']}/report")).json()

    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 3  # a page per ticket, and the add-ons
    last = pages[-1].extract_text()
    assert "2 x Parking" in last and "30.00 EUR" in last and "120.00 EUR" in last
    (mail,) = [
        m
        for m in stack.services.mail.messages
        if m.message_id == f"<tickets.{order['id']}@boxoffice>"
    ]
    body = mail.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "2 x General" in text and "90.00 EUR" in text
    assert "2 x Parking" in text and "30.00 EUR" in text
    assert "Total" in text and "120.00 EUR" in text
    (line,) = [x for x in report["lines"] if x["kind"] == "addon"]
    assert (line["capacity"], line["available"], line["sold"], line["refunded"]) == (3, 3, 0, 2)


async def test_addons_alone_over_the_limit_or_unknown_are_refused(stack: Stack) -> None:
    async with stack.http() as http:
        event = await _event_with_parking(http)
        alone = {**_with_addon(event, 1), "items": []}
        refused = await http.post("/orders", json=alone)
        assert refused.status_code == 422
        assert "add-ons are sold with tickets" in refused.json()["detail"]
        too_many = await http.post("/orders", json=_with_addon(event, 3))
        assert too_many.status_code == 422
        assert "At most 2 of Parking per order" in too_many.json()["detail"]
        other = await _event_with_parking(http)
        foreign = {**_with_addon(event, 1), "addons": [{"addon_id": _parking(other)["id"]}]}
        assert (await http.post("/orders", json=foreign)).status_code == 422
        wrong = {
            **_with_addon(event, 1),
            "addons": [{"addon_id": _parking(other)["id"], "quantity": 1}],
        }
        answer = await http.post("/orders", json=wrong)
        assert answer.status_code == 422
        assert "is not sold for this event" in answer.json()["detail"]
        unknown = {
            **_with_addon(event, 1),
            "addons": [{"addon_id": str(uuid.uuid4()), "quantity": 1}],
        }
        assert (await http.post("/orders", json=unknown)).status_code == 422
        dollars = await http.post(
            f"/events/{event['id']}/addons", json={**PARKING, "name": "Valet", "currency": "USD"}
        )
        assert dollars.status_code == 409
        assert "priced in USD" in dollars.json()["detail"]
        assert await _left(http, event["id"]) == 3


async def test_addon_stock_is_never_oversold(stack: Stack) -> None:
    """Twelve buyers each want a parking place; three exist: three orders are reserved, the
    rest are refused as sold out, and the stock ends at zero, not below."""
    async with stack.http() as http:
        event = await _event_with_parking(http)
        answers = await asyncio.gather(
            *(http.post("/orders", json=_with_addon(event, 1, payment=None)) for _ in range(12))
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(201) == 3, [a.text for a in answers]
        assert set(statuses) == {201, 409}
        assert await _left(http, event["id"]) == 0
        stock_cut = await http.patch(
            f"/events/{event['id']}/addons/{_parking(event)['id']}", json={"stock": 2}
        )
        assert stock_cut.status_code == 409
        assert "3 are sold or held" in stock_cut.json()["detail"]
        # A held order's hold ends (here: its buyer cancels): its parking place is back.
        first = next(a.json() for a in answers if a.status_code == 201)
        cancelled = await http.post(f"/orders/{first['id']}/cancel", json={"reason": "bus"})
        assert cancelled.status_code == 200, cancelled.text
        assert await _left(http, event["id"]) == 1
