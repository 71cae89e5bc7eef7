"""The storefront's pages over plain HTTP on the real stack: what they show, that forms need
their CSRF token, that a guest's order opens only in the browser that bought it, and that a
payment from the page goes through the same order service (the browser tests drive the same
pages in Chromium)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import Stack
from tests.purchases import create_event, general, wait_for_status

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="key" value="([0-9a-f]{32})"')


def page_client(stack: Stack, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.api_url, timeout=60, trust_env=False, headers=headers)


async def reserve(
    browser: httpx.AsyncClient, event: dict[str, Any], quantity: int = 2, **fields: str
) -> httpx.Response:
    page = await browser.get(f"/shop/events/{event['id']}")
    assert page.status_code == 200, page.text
    form = {
        "csrf_token": CSRF.search(page.text).group(1),  # type: ignore[union-attr]
        "key": KEY.search(page.text).group(1),  # type: ignore[union-attr]
        f"qty-{general(event)}": str(quantity),
        "name": "Grace Hopper",
        "email": "grace@example.com",
        **fields,
    }
    return await browser.post(f"/shop/events/{event['id']}/reserve", data=form)


async def test_events_list_shows_what_is_on_sale_escaped(stack: Stack) -> None:
    async with stack.http() as admin:
        event = await create_event(admin)
        renamed = await admin.patch(
            f"/events/{event['id']}", json={"name": "<script>alert(1)</script> Gala"}
        )
        assert renamed.status_code == 200, renamed.text
    async with page_client(stack) as browser:
        page = await browser.get("/shop")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Gala" in page.text
    assert "<script>alert(1)" not in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' " in policy and "'unsafe-inline'" not in policy


async def test_a_form_without_its_csrf_token_is_refused(stack: Stack) -> None:
    async with stack.http() as admin:
        event = await create_event(admin)
    async with page_client(stack) as browser:
        await browser.get(f"/shop/events/{event['id']}")  # the CSRF cookie is set here
        forged = await browser.post(
            f"/shop/events/{event['id']}/reserve",
            data={f"qty-{general(event)}": "1", "name": "X", "email": "x@example.com"},
        )
        wrong = await reserve(browser, event, csrf_token="not-the-cookie")
        other_site = await reserve(browser, event, quantity=1)
    assert forged.status_code == 403 and wrong.status_code == 403
    assert other_site.status_code == 303  # the real form goes through
    async with page_client(stack, Origin="https://evil.example") as attacker:
        attacker.cookies = browser.cookies
        refused = await reserve(attacker, event)
    assert refused.status_code == 403


async def test_a_guest_reserves_and_pays_from_the_pages(stack: Stack) -> None:
    async with stack.http() as admin:
        event = await create_event(admin, capacity=10)
    async with page_client(stack) as browser:
        held = await reserve(browser, event, quantity=2)
        assert held.status_code == 303, held.text
        checkout_url = held.headers["location"]
        order_id = checkout_url.split("/")[3]
        assert checkout_url == f"/shop/orders/{order_id}/checkout"
        checkout = await browser.get(checkout_url)
        assert checkout.status_code == 200
        assert f"{stack.services.stripe_base}/js.stripe.com/v3/" in checkout.text
        assert stack.services.stripe_base in checkout.headers["content-security-policy"]
        csrf = browser.cookies["bxo_csrf"]
        # What Stripe.js does with the card fields: the number goes to Stripe, not to us.
        token = await _card_token(stack, "4242424242424242")
        paid = await browser.post(
            f"/shop/orders/{order_id}/pay",
            json={"token": token},
            headers={"X-CSRF-Token": csrf},
        )
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "succeeded"
        async with stack.http() as staff:
            await wait_for_status(staff, order_id, "completed")
        page = await browser.get(f"/shop/orders/{order_id}")
        assert page.status_code == 200
        assert page.text.count("<svg") == 2  # a QR code per ticket
        pdf = await browser.get(f"/shop/orders/{order_id}/tickets.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    async with page_client(stack) as stranger:
        assert (await stranger.get(f"/shop/orders/{order_id}")).status_code == 404
        assert (await stranger.get(f"/shop/orders/{order_id}/tickets.pdf")).status_code == 404


async def test_the_emails_link_opens_the_order_in_another_browser(stack: Stack) -> None:
    async with stack.http() as admin:
        event = await create_event(admin)
    async with page_client(stack) as browser:
        held = await reserve(browser, event, quantity=1)
        order_id = held.headers["location"].split("/")[3]
        token = browser.cookies.get("bxo_order", path=f"/shop/orders/{order_id}")
    assert token
    async with page_client(stack) as phone:
        link = await phone.get(f"/shop/orders/{order_id}?token={token}")
        assert link.status_code == 303 and link.headers["location"] == f"/shop/orders/{order_id}"
        page = await phone.get(f"/shop/orders/{order_id}")
        assert page.status_code == 200 and "Grace Hopper" in page.text
        bad = await phone.get(f"/shop/orders/{order_id}x?token={token}")
        assert bad.status_code == 303
        assert (await phone.get(f"/shop/orders/{order_id}x")).status_code == 404


async def test_pages_speak_brazilian_portuguese(stack: Stack) -> None:
    async with stack.http() as admin:
        event = await create_event(admin, price=4550)
    async with page_client(stack, **{"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.5"}) as browser:
        page = await browser.get(f"/shop/events/{event['id']}")
        assert '<html lang="pt-BR">' in page.text
        assert "Reservar ingressos" in page.text
        assert "€\xa045,50" in page.text or "€ 45,50" in page.text
        english = await browser.get(f"/shop/events/{event['id']}?lang=en")
        assert "Reserve tickets" in english.text
        # The switcher's choice is remembered over Accept-Language.
        again = await browser.get(f"/shop/events/{event['id']}")
        assert "Reserve tickets" in again.text


async def test_seats_in_carts_are_said_apart_from_sold_out(stack: Stack) -> None:
    async with stack.http() as admin:
        event = await create_event(admin, capacity=1)
    async with page_client(stack) as browser:
        held = await reserve(browser, event, quantity=1)
        assert held.status_code == 303
        page = await browser.get(f"/shop/events/{event['id']}")
        assert "in other buyers' carts" in page.text
        order_id = held.headers["location"].split("/")[3]
        assert "Sold out" not in page.text
        page = await browser.get(f"/shop/orders/{order_id}")
        csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        cancel = await browser.post(f"/shop/orders/{order_id}/cancel", data={"csrf_token": csrf})
        assert cancel.status_code == 303
        page = await browser.get(f"/shop/events/{event['id']}")
        assert "Few left" in page.text and "carts" not in page.text


async def _card_token(stack: Stack, number: str) -> str:
    async with httpx.AsyncClient(base_url=stack.services.stripe_base, trust_env=False) as stripe:
        made = await stripe.post(
            "/v1/tokens",
            data={
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2035",
                "card[cvc]": "123",
                "key": "pk_test_boxoffice_local",
            },
        )
    assert made.status_code == 200, made.text
    token: str = made.json()["id"]
    return token
