"""A buyer's purchases over HTTP, on the real embedded services."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text

from boxoffice.core.s3 import make_s3_client, read_object
from boxoffice.gate.qr_reader import codes_in_pdf
from boxoffice.orders.messages import (
    PipelineConfig,
)
from boxoffice.orders.tickets.codes import signer_from_settings, verify_code
from tests.conftest import Stack
from tests.purchases import (
    available,
    card_payment_method,
    create_event,
    general,
    order_body,
    start_order,
    wait_for_status,
)


async def test_purchase_completes_with_pdf_qr_and_email(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http)
        created = await http.post("/orders", json=order_body(event, 2, "pm_card_visa"))
        assert created.status_code == 201, created.text
        order = created.json()
        assert created.headers["Location"] == f"/orders/{order['id']}"
        assert order["status"] in ("reserved", "paying", "paid")
        assert order["total"] == {"amount": 9000, "currency": "EUR"}
        assert order["hold_expires_at"]

        done = await wait_for_status(http, order["id"], "completed")
        assert len(done["tickets"]) == 2
        assert done["tickets_pdf_url"] == f"/orders/{order['id']}/tickets.pdf"

        pdf = await http.get(done["tickets_pdf_url"])
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"

    stored = read_object(
        make_s3_client(stack.settings),
        stack.settings.s3_bucket,
        f"orders/{order['id']}/tickets.pdf",
    )
    assert stored == pdf.content
    codes = codes_in_pdf(stored)
    assert sorted(codes) == sorted(t["code"] for t in done["tickets"])
    public_keys = signer_from_settings(stack.settings).public_keys()
    for code in codes:
        verified = verify_code(code, public_keys)
        assert verified is not None
        assert str(verified.event_id) == event["id"]

    mails = [
        m
        for m in stack.services.mail.messages
        if m.message_id == f"<tickets.{order['id']}@boxoffice>"
    ]
    assert mails, "the tickets email reached the catcher"
    assert "ada@example.com" in mails[0].rcpt_tos
    async with stack.sessions() as session:
        emails = await session.scalar(
            text("SELECT count(DISTINCT message_id) FROM emails WHERE order_id = :o"),
            {"o": order["id"]},
        )
    assert emails == 1


async def test_declined_card_then_another_card(stack: Stack) -> None:
    declining = card_payment_method(stack.settings.stripe_api_base, "4000000000000341")
    async with stack.http() as http:
        event = await create_event(http)
        order = (await http.post("/orders", json=order_body(event))).json()
        declined = await http.post(
            f"/orders/{order['id']}/payment", json={"payment_method": declining}
        )
        assert declined.status_code == 402, declined.text
        assert declined.json()["status"] == "declined"
        assert "declined" in declined.json()["decline_reason"].lower()
        assert declined.json()["order"]["status"] == "reserved"

        paid = await http.post(
            f"/orders/{order['id']}/payment", json={"payment_method": "pm_card_visa"}
        )
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "succeeded"
        await wait_for_status(http, order["id"], "completed")

        again = await http.post(
            f"/orders/{order['id']}/payment", json={"payment_method": "pm_card_visa"}
        )
        assert again.status_code == 409
        assert "already paid" in again.json()["detail"] or "completed" in again.json()["detail"]


async def test_three_d_secure_completes_through_the_webhook(stack: Stack) -> None:
    card = card_payment_method(stack.settings.stripe_api_base, "4000000000003220")
    async with stack.http() as http:
        event = await create_event(http)
        order = (await http.post("/orders", json=order_body(event))).json()
        needs_action = await http.post(
            f"/orders/{order['id']}/payment", json={"payment_method": card}
        )
        assert needs_action.status_code == 200, needs_action.text
        outcome = needs_action.json()
        assert outcome["status"] == "requires_action"
        assert outcome["client_secret"]
        # What Stripe.js does when the buyer passes the bank's challenge.
        async with httpx.AsyncClient(trust_env=False) as raw:
            authenticated = await raw.post(
                f"{stack.settings.stripe_api_base}/v1/payment_intents/"
                f"{outcome['payment_intent_id']}/_authenticate",
                data={"client_secret": outcome["client_secret"], "success": "true"},
                headers={"Authorization": "Bearer sk_test_x"},
            )
        assert authenticated.status_code == 200, authenticated.text
        await wait_for_status(http, order["id"], "completed", within=60)


async def test_forged_webhook_is_refused(stack: Stack) -> None:
    async with stack.http() as http:
        response = await http.post(
            "/webhooks/stripe",
            content=b'{"type": "payment_intent.succeeded"}',
            headers={"Stripe-Signature": "t=1,v1=deadbeef"},
        )
    assert response.status_code == 400


async def test_cancel_in_hold_then_refund_after_payment(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=10)
        type_id = general(event)
        held = (await http.post("/orders", json=order_body(event, 3))).json()
        assert await available(http, event["id"], type_id) == 7
        cancelled = await http.post(f"/orders/{held['id']}/cancel", json={"reason": "changed"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert await available(http, event["id"], type_id) == 10
        twice = await http.post(f"/orders/{held['id']}/cancel")
        assert twice.status_code == 409

        bought = (await http.post("/orders", json=order_body(event, 2, "pm_card_visa"))).json()
        await wait_for_status(http, bought["id"], "completed")
        refunded = await http.post(f"/orders/{bought['id']}/cancel")
        assert refunded.status_code == 200, refunded.text
        body = refunded.json()
        assert body["status"] == "refunded"
        assert {t["status"] for t in body["tickets"]} == {"void"}
        assert await available(http, event["id"], type_id) == 10
    async with stack.sessions() as session:
        refunds = await session.scalar(
            text("SELECT count(*) FROM refunds WHERE order_id = :o AND status = 'succeeded'"),
            {"o": bought["id"]},
        )
    assert refunds == 1


async def test_refund_refused_inside_the_cutoff(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, starts_in=timedelta(hours=10), refund_cutoff_hours=48)
        bought = (await http.post("/orders", json=order_body(event, 1, "pm_card_visa"))).json()
        await wait_for_status(http, bought["id"], "completed")
        refused = await http.post(f"/orders/{bought['id']}/cancel")
        assert refused.status_code == 409
        assert "refund period" in refused.json()["detail"]
        assert (await http.get(f"/orders/{bought['id']}")).json()["status"] == "completed"


async def test_expired_hold_puts_its_seats_back(stack: Stack) -> None:
    """A short hold, started the way the API starts one, expires on its own."""
    async with stack.http() as http:
        event = await create_event(http, capacity=4)
        type_id = general(event)
        config = PipelineConfig(
            hold_seconds=2,
            payments_task_queue=stack.settings.task_queue_payments,
            fulfilment_task_queue=stack.settings.task_queue_fulfilment,
        )
        order_id = await start_order(stack, event, 4, config)
        assert await available(http, event["id"], type_id) == 0
        sold_out = await http.post("/orders", json=order_body(event, 1))
        assert sold_out.status_code == 409
        await wait_for_status(http, order_id, "expired", within=30)
        assert await available(http, event["id"], type_id) == 4
        late = await http.post(
            f"/orders/{order_id}/payment", json={"payment_method": "pm_card_visa"}
        )
        assert late.status_code == 409
