"""The limits an attack got round, on the real stack: the per-buyer cap (counted at payment
under the account, the mailbox and the card), unpaid holds per client network, and payment
attempts per order and per client."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from boxoffice.orders.activities.inventory import InventoryActivities
from boxoffice.orders.activities.payments import PaymentActivities, make_stripe_client
from boxoffice.orders.messages import Buyer, OrderItem, PayInput, ReleaseInput, ReserveInput
from boxoffice.worker import build_workers, running
from tests.conftest import ApiServer, Stack, stack_settings
from tests.purchases import (
    card_payment_method,
    create_event,
    general,
    order_body,
)

CAP = 3


async def _hold(
    inventory: InventoryActivities,
    event: dict[str, Any],
    email: str,
    *,
    quantity: int = 1,
    account: str | None = None,
    client: str | None = None,
) -> tuple[str, bool, str | None]:
    order_id = f"ord_{uuid.uuid4().hex}"
    answer = await ActivityEnvironment().run(
        inventory.reserve_seats,
        ReserveInput(
            order_id=order_id,
            event_id=event["id"],
            items=[OrderItem(general(event), quantity)],
            buyer=Buyer(email, "Scalper", account=account, client=client),
            hold_expires_at=datetime.now(UTC) + timedelta(minutes=15),
        ),
    )
    return order_id, answer.reserved, answer.reason


async def _pay(
    payments: PaymentActivities, order_id: str, card: str, quantity: int = 1
) -> str | None:
    """None when paid, else why the payment was refused."""
    try:
        await ActivityEnvironment().run(
            payments.charge_payment,
            PayInput(order_id, 1, 4500 * quantity, "EUR", card, "scalper@example.com"),
        )
    except ApplicationError as refused:
        assert refused.type == "TicketCapReached", refused
        return refused.message
    return None


def _cards(stack: Stack, count: int) -> list[str]:
    """Distinct cards (each its own fingerprint)."""
    base = stack.settings.stripe_api_base
    return [card_payment_method(base, f"4111{n:012d}") for n in range(1, count + 1)]


async def test_one_mailbox_under_many_spellings_pays_for_the_cap_once(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=50)
    inventory = InventoryActivities(stack.sessions, max_tickets_per_buyer=CAP)
    payments = PaymentActivities(stack.sessions, make_stripe_client(stack.settings), CAP)
    spellings = [
        "scalper@example.com",
        "Scalper@Example.com",
        "scalper+1@example.com",
        "scalper+2@example.com",
        "s.c.a.l.p.e.r@example.com",
        "S.Calper+vip@EXAMPLE.COM",
    ]
    # Holding is free of the cap: unpaid holds under someone's address must not use it up.
    held = [await _hold(inventory, event, email) for email in spellings]
    assert all(reserved for _, reserved, _ in held)
    cards = _cards(stack, len(held))
    outcomes = await asyncio.gather(
        *(
            _pay(payments, order_id, card)
            for (order_id, _, _), card in zip(held, cards, strict=True)
        )
    )
    paid = [order for order, outcome in zip(held, outcomes, strict=True) if outcome is None]
    assert len(paid) == CAP, outcomes
    refusal = next(outcome for outcome in outcomes if outcome is not None)
    assert (
        refusal
        == f"At most {CAP} tickets per buyer for this event, and this email address has reached it."
    )
    # A refund gives the tickets back to the buyer's count.
    await ActivityEnvironment().run(
        inventory.release_seats, ReleaseInput(paid[0][0], "refunded", None)
    )
    again, reserved, _ = await _hold(inventory, event, "scalper+3@example.com")
    assert reserved
    assert await _pay(payments, again, cards[0]) is None


async def test_one_card_pays_for_the_cap_once_whoever_it_buys_for(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=50)
    inventory = InventoryActivities(stack.sessions, max_tickets_per_buyer=CAP)
    payments = PaymentActivities(stack.sessions, make_stripe_client(stack.settings), CAP)
    [card] = _cards(stack, 1)
    outcomes = []
    for n in range(CAP + 2):
        order_id, reserved, _ = await _hold(inventory, event, f"friend{n}@example.com")
        assert reserved
        outcomes.append(await _pay(payments, order_id, card))
    assert outcomes[:CAP] == [None] * CAP
    refused = outcomes[CAP]
    assert refused is not None and "this card has reached it" in refused
    # The buyer reads why on the order too (a payment sent with the create has no answer).
    async with stack.sessions() as session:
        last_error = await session.scalar(
            text("SELECT last_error FROM orders WHERE id = :o"), {"o": order_id}
        )
    assert last_error == refused


async def test_an_account_at_its_cap_cannot_buy_more_as_a_guest(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=50)
    inventory = InventoryActivities(stack.sessions, max_tickets_per_buyer=CAP)
    payments = PaymentActivities(stack.sessions, make_stripe_client(stack.settings), CAP)
    cards = _cards(stack, 2)
    account = f"acct-{uuid.uuid4().hex[:8]}"
    email = f"{account}@example.com"
    order_id, reserved, _ = await _hold(inventory, event, email, quantity=CAP, account=account)
    assert reserved and await _pay(payments, order_id, cards[0], CAP) is None
    # The account's own count is checked at the hold already (it says so to the account).
    _, reserved, reason = await _hold(inventory, event, email, account=account)
    assert not reserved and reason is not None and "this account has 3 already" in reason
    # As a guest with the account's address: held, then refused at payment.
    guest_order, reserved, _ = await _hold(inventory, event, email)
    assert reserved
    refusal = await _pay(payments, guest_order, cards[1])
    assert refusal is not None and "this email address has reached it" in refusal


async def test_unpaid_holds_per_client_network_are_limited(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=200)
    inventory = InventoryActivities(stack.sessions, max_unpaid_tickets_per_client=4)
    payments = PaymentActivities(stack.sessions, make_stripe_client(stack.settings))
    client = uuid.uuid4().hex
    holds = [
        await _hold(inventory, event, f"sweeper{n}@example.com", quantity=2, client=client)
        for n in range(3)
    ]
    assert [reserved for _, reserved, _ in holds] == [True, True, False]
    assert holds[2][2] is not None and "unpaid tickets may be held" in holds[2][2]
    # Another network is not affected.
    _, other, _ = await _hold(inventory, event, "else@example.com", quantity=4, client="other")
    assert other
    # Paying for a hold makes room; so does a hold that ends.
    assert await _pay(payments, holds[0][0], "pm_card_visa", 2) is None
    _, reserved, _ = await _hold(inventory, event, "s3@example.com", quantity=2, client=client)
    assert reserved
    await ActivityEnvironment().run(
        inventory.release_seats, ReleaseInput(holds[1][0], "expired", None)
    )
    _, reserved, _ = await _hold(inventory, event, "s4@example.com", quantity=2, client=client)
    assert reserved
    async with stack.sessions() as session:
        used = await session.scalar(
            text("SELECT used FROM limit_counters WHERE key = :k"), {"k": f"unpaid:{client}"}
        )
    assert used == 4


async def test_the_api_counts_unpaid_holds_by_client_network(stack: Stack) -> None:
    """Over HTTP: the API names the client's network (hashed) in the order, and a worker with
    the limit on refuses the next hold from it with 409."""
    queue = f"purchases-limits-{uuid.uuid4().hex[:8]}"
    settings = stack_settings(
        stack.services, task_queue_purchases=queue, max_unpaid_tickets_per_client=3
    )
    async with stack.http() as http:
        event = await create_event(http, capacity=50)
    async with running(build_workers(stack.temporal, settings, ["purchases"], stack.sessions)):
        with ApiServer(settings) as api:
            async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=60) as guest:
                first = await guest.post("/orders", json=order_body(event, 2))
                assert first.status_code == 201, first.text
                second = await guest.post("/orders", json=order_body(event, 2))
                assert second.status_code == 409, second.text
                assert "unpaid tickets may be held" in second.json()["detail"]
                cancel = await guest.post(
                    f"/orders/{first.json()['id']}/cancel",
                    json={},
                    headers={"X-Order-Token": first.json()["access_token"]},
                )
                assert cancel.status_code == 200, cancel.text
                third = await guest.post("/orders", json=order_body(event, 2))
                assert third.status_code == 201, third.text


async def test_payment_attempts_are_limited_per_order_and_per_client(stack: Stack) -> None:
    declining = card_payment_method(stack.settings.stripe_api_base, "4000000000000341")
    async with stack.http() as http:
        event = await create_event(http)
    per_order = stack_settings(stack.services, max_payment_attempts_per_order=2)
    with ApiServer(per_order) as api:
        async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=60) as guest:
            created = (await guest.post("/orders", json=order_body(event))).json()
            token = {"X-Order-Token": created["access_token"]}
            pay = f"/orders/{created['id']}/payment"
            statuses = [
                (await guest.post(pay, json={"payment_method": declining}, headers=token))
                for _ in range(3)
            ]
            assert [s.status_code for s in statuses] == [402, 402, 429], statuses[-1].text
            assert "2 payment attempts" in statuses[2].json()["detail"]
            order = (await guest.get(f"/orders/{created['id']}", headers=token)).json()
            assert order["status"] == "reserved"
            assert order["hold_expires_at"] == statuses[1].json()["order"]["hold_expires_at"]
            metrics = (await guest.get("/metrics")).text
            assert 'boxoffice_payment_attempts_total{outcome="limited_order"} 1.0' in metrics
            assert 'boxoffice_payment_attempts_total{outcome="declined"} 2.0' in metrics

    per_client = stack_settings(stack.services, rate_limit_payments_per_client=2)
    with ApiServer(per_client) as api:
        async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=60) as guest:
            orders = [
                (await guest.post("/orders", json=order_body(event))).json() for _ in range(3)
            ]
            answers = [
                await guest.post(
                    f"/orders/{o['id']}/payment",
                    json={"payment_method": declining},
                    headers={"X-Order-Token": o["access_token"]},
                )
                for o in orders
            ]
            assert [a.status_code for a in answers] == [402, 402, 429]
            assert int(answers[2].headers["Retry-After"]) >= 1
            metrics = (await guest.get("/metrics")).text
            assert 'boxoffice_payment_attempts_total{outcome="limited_client"} 1.0' in metrics
