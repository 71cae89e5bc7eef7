"""Security on the real stack: guest order tokens, owners, Stripe webhook signatures and
duplicates, rate limits, the per-buyer ticket cap, and bad tokens over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType

from boxoffice.auth.tokens import mint_token
from tests.conftest import WEBHOOK_SECRET, ApiServer, Stack, stack_settings
from tests.purchases import (
    card_payment_method,
    create_event,
    order_body,
)


async def test_guest_orders_open_with_their_token_only(stack: Stack) -> None:
    async with stack.http() as staff:
        event = await create_event(staff)
    key = str(uuid.uuid4())
    async with stack.http(token=None) as guest:
        created = await guest.post(
            "/orders", json=order_body(event), headers={"Idempotency-Key": key}
        )
        assert created.status_code == 201, created.text
        order = created.json()
        token = order["access_token"]
        assert token.startswith("bxo_")
        # The first answer may have been lost: the retry brings the token back.
        retried = await guest.post(
            "/orders", json=order_body(event), headers={"Idempotency-Key": key}
        )
        assert retried.json()["access_token"] == token
        other = (await guest.post("/orders", json=order_body(event))).json()

        path = f"/orders/{order['id']}"
        assert (await guest.get(path)).status_code == 401
        assert (await guest.get(path, headers={"X-Order-Token": token})).status_code == 200
        # In a URL the token opens the PDF link only: URLs end up in logs and histories.
        in_url = await guest.get(f"{path}?token={token}")
        assert in_url.status_code == 401 and "X-Order-Token" in in_url.json()["detail"]
        in_url = await guest.post(f"{path}/cancel?token={token}", json={})
        assert in_url.status_code == 401
        pdf = await guest.get(f"{path}/tickets.pdf?token={token}")
        assert pdf.status_code == 404 and "not issued yet" in pdf.json()["detail"]
        for wrong in (other["access_token"], token[:-2] + "xx", "bxo_"):
            refused = await guest.get(path, headers={"X-Order-Token": wrong})
            assert refused.status_code == 404, wrong
            assert refused.json()["detail"] == f"No order with id {order['id']}."
        cancelled = await guest.post(f"{path}/cancel", json={}, headers={"X-Order-Token": token})
        assert cancelled.status_code == 200, cancelled.text
        # The token is never stored: nothing in the row could give it away.
    async with stack.sessions() as session:
        row = (
            await session.execute(text("SELECT * FROM orders WHERE id = :o"), {"o": order["id"]})
        ).one()
    assert token not in json.dumps([str(v) for v in row])


async def test_guest_keys_must_be_unguessable(stack: Stack) -> None:
    """The same key and body return the same order and its token: for a guest the key is a
    credential, so a guessable one would hand the order to the next guest who sends it."""
    async with stack.http() as staff:
        event = await create_event(staff)
    weak = f"order-{uuid.uuid4().hex[:4]}"
    async with stack.http(token=None) as first, stack.http(token=None) as second:
        for guest in (first, second):
            refused = await guest.post(
                "/orders", json=order_body(event), headers={"Idempotency-Key": weak}
            )
            assert refused.status_code == 422, refused.text
            assert "128 bits" in refused.json()["detail"]
            assert weak not in refused.text
        strong = str(uuid.uuid4())
        made = await first.post(
            "/orders", json=order_body(event), headers={"Idempotency-Key": strong}
        )
        assert made.status_code == 201, made.text
    # An account's orders are bound to the account: its keys may be anything.
    async with stack.http(token=stack.token(f"shop-{uuid.uuid4().hex[:6]}")) as shop:
        keyed = await shop.post(
            "/orders", json=order_body(event), headers={"Idempotency-Key": weak}
        )
        assert keyed.status_code == 201, keyed.text
        assert keyed.json()["access_token"] is None


async def test_a_guest_token_lapses_after_the_event(stack: Stack) -> None:
    over = timedelta(seconds=stack.settings.order_grace_seconds + 60)
    async with stack.http() as staff:
        event = await create_event(
            staff, starts_in=-over, sales_until=datetime.now(UTC) + timedelta(hours=1)
        )
    async with stack.http(token=None) as guest:
        bought = await guest.post("/orders", json=order_body(event, 1, "pm_card_visa"))
        assert bought.status_code == 201, bought.text
        order = bought.json()
        lapsed = await guest.get(
            f"/orders/{order['id']}", headers={"X-Order-Token": order["access_token"]}
        )
        assert lapsed.status_code == 401, lapsed.text
        assert "lapsed" in lapsed.json()["detail"]
    async with stack.http() as staff:  # support still sees it
        assert (await staff.get(f"/orders/{order['id']}")).status_code == 200


async def test_buyers_see_only_their_own_orders(stack: Stack) -> None:
    async with stack.http() as staff:
        event = await create_event(staff)
    key = str(uuid.uuid4())
    async with stack.http(token=stack.token("alice")) as alice:
        mine = await alice.post("/orders", json=order_body(event), headers={"Idempotency-Key": key})
        assert mine.status_code == 201, mine.text
        order_id = mine.json()["id"]
        assert (await alice.get(f"/orders/{order_id}")).status_code == 200
    async with stack.http(token=stack.token("mallory")) as mallory:
        assert (await mallory.get(f"/orders/{order_id}")).status_code == 404
        assert (await mallory.post(f"/orders/{order_id}/cancel", json={})).status_code == 404
        # Reusing Alice's Idempotency-Key does not hand Mallory Alice's order.
        stolen = await mallory.post(
            "/orders", json=order_body(event), headers={"Idempotency-Key": key}
        )
        assert stolen.status_code == 422, stolen.text
        # Mass assignment: fields a buyer must not set are refused, not ignored.
        forged = order_body(event) | {"status": "paid", "total": 0}
        assert (await mallory.post("/orders", json=forged)).status_code == 422
    async with stack.sessions() as session:
        owner = await session.scalar(
            text("SELECT owner_sub FROM orders WHERE id = :o"), {"o": order_id}
        )
    assert owner == "alice"


async def test_bad_tokens_are_401_over_http(stack: Stack) -> None:
    expired = mint_token(stack.settings, "alice", ["admin"], ttl_seconds=-120)
    foreign = mint_token(
        stack_settings(stack.services, auth_secret="another-deployment-secret-xxxxxxx"),
        "alice",
        ["admin"],
    )
    async with stack.http() as staff:
        event = await create_event(staff)
    async with stack.http(token=None) as http:
        for token in (expired, foreign, "garbage"):
            headers = {"Authorization": f"Bearer {token}"}
            for method, path in (("GET", "/admin/orders"), ("POST", "/orders")):
                # A whole order: POST /orders reads the body first (a type just seen sold out
                # is refused on its body alone), so a body it cannot read would be a 422.
                response = await http.request(method, path, headers=headers, json=order_body(event))
                assert response.status_code == 401, (path, response.text)
                assert "Invalid bearer token" in response.json()["detail"]
                assert token not in response.text
        public = await http.get("/events")
    assert public.status_code == 200
    async with stack.sessions() as session:
        made = await session.scalar(
            text("SELECT count(*) FROM orders WHERE event_id = :e"), {"e": event["id"]}
        )
    assert made == 0
    assert public.headers["X-Content-Type-Options"] == "nosniff"
    assert public.headers["Content-Security-Policy"].startswith("default-src 'none'")


def _signed(payload: bytes, at: int | None = None) -> dict[str, str]:
    timestamp = at if at is not None else int(time.time())
    signature = hmac.new(
        WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={signature}"}


async def test_a_webhook_event_delivered_five_times_acts_once(stack: Stack) -> None:
    card = card_payment_method(stack.settings.stripe_api_base, "4000000000003220")
    async with stack.http() as http:
        event = await create_event(http)
        order = (await http.post("/orders", json=order_body(event))).json()
        paying = await http.post(f"/orders/{order['id']}/payment", json={"payment_method": card})
        assert paying.json()["status"] == "requires_action", paying.text
        intent_id = paying.json()["payment_intent_id"]
        payload = json.dumps(
            {
                "id": f"evt_{uuid.uuid4().hex}",
                "object": "event",
                "type": "payment_intent.succeeded",
                "data": {
                    "object": {
                        "id": intent_id,
                        "object": "payment_intent",
                        "metadata": {"order_id": order["id"]},
                    }
                },
            }
        ).encode()
        stale = await http.post(
            "/webhooks/stripe", content=payload, headers=_signed(payload, int(time.time()) - 3600)
        )
        assert stale.status_code == 400
        forged = await http.post(
            "/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": _signed(payload)["Stripe-Signature"][:-4] + "0000"},
        )
        assert forged.status_code == 400
        answers = await asyncio.gather(
            *(
                http.post("/webhooks/stripe", content=payload, headers=_signed(payload))
                for _ in range(5)
            )
        )
    assert [a.status_code for a in answers] == [200] * 5
    assert sorted(a.json().get("duplicate", False) for a in answers) == [False] + [True] * 4
    history = await stack.temporal.get_workflow_handle(order["id"]).fetch_history()
    signals = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == "payment_succeeded"
    ]
    assert len(signals) == 1


async def test_rate_limits_answer_429_and_recover(stack: Stack) -> None:
    settings = stack_settings(
        stack.services,
        rate_limit_window_seconds=2,
        rate_limit_orders_per_client=3,
        rate_limit_orders_per_buyer=100,
        rate_limit_validations_per_client=2,
    )
    gate = {"Authorization": f"Bearer {mint_token(settings, 'gate-9', ['gate'])}"}
    async with stack.http() as staff:
        event = await create_event(staff)
    with ApiServer(settings) as api:
        async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=60) as http:
            # Wait for a fresh window, so the three requests fall in one.
            await asyncio.sleep(2 - time.time() % 2)
            statuses = [
                (await http.post("/orders", json=order_body(event))).status_code for _ in range(4)
            ]
            assert statuses[:3] == [201, 201, 201] and statuses[3] == 429, statuses
            limited = await http.post("/orders", json=order_body(event))
            assert limited.status_code == 429
            assert 1 <= int(limited.headers["Retry-After"]) <= 2
            await asyncio.sleep(int(limited.headers["Retry-After"]) + 0.1)
            assert (await http.post("/orders", json=order_body(event))).status_code == 201

            validations = [
                (await http.post("/tickets/validate", json={"code": "x"}, headers=gate)).status_code
                for _ in range(3)
            ]
            assert 429 in validations and validations.count(200) <= 2, validations
