"""The account pages over plain HTTP on the real stack: no account enumeration, rate limits on
links and sign-ins, and a session that lets "my orders" open the account's orders only."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import httpx

from tests.conftest import ApiServer, Stack, stack_settings
from tests.purchases import create_event
from tests.storefront.integration.test_pages import CSRF, page_client, reserve

LINK = re.compile(r"/shop/account/link/([A-Za-z0-9_-]+)")


async def post_form(
    browser: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    shown = await browser.get(page)
    token = CSRF.search(shown.text).group(1)  # type: ignore[union-attr]
    return await browser.post(action, data={"csrf_token": token, **fields})


def _mailbox(stack: Stack, address: str) -> list[str]:
    return [
        str(m.message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
        for m in stack.services.mail.messages
        if address in m.rcpt_tos
    ]


async def _mail_to(stack: Stack, address: str, count: int) -> list[str]:
    deadline = time.monotonic() + 20
    while len(found := _mailbox(stack, address)) < count:
        assert time.monotonic() < deadline, f"no mail number {count} to {address}"
        await asyncio.sleep(0.1)
    return found


async def test_signing_up_says_the_same_whether_the_address_has_an_account(stack: Stack) -> None:
    taken = f"taken-{uuid.uuid4().hex[:8]}@example.com"
    fresh = f"fresh-{uuid.uuid4().hex[:8]}@example.com"
    answers = []
    async with page_client(stack) as browser:
        first = await post_form(
            browser, "/shop/account/sign-up", "/shop/account/sign-up", email=taken
        )
        assert first.status_code == 200
        await _mail_to(stack, taken, 1)
        for address in (taken, fresh):
            answer = await post_form(
                browser, "/shop/account/sign-up", "/shop/account/sign-up", email=address
            )
            answers.append((answer.status_code, answer.text.replace(address, "ADDRESS")))
            link = await post_form(
                browser, "/shop/account/sign-in", "/shop/account/sign-in/link", email=address
            )
            answers.append((link.status_code, link.text.replace(address, "ADDRESS")))
    assert answers[0] == answers[2] and answers[1] == answers[3]
    assert "Check your email" in answers[0][1]
    # The mailboxes learn which: the existing account gets sign-in links.
    to_taken = await _mail_to(stack, taken, 3)
    assert all(LINK.search(body) for body in to_taken)
    to_fresh = await _mail_to(stack, fresh, 2)
    assert LINK.search(to_fresh[0]) and LINK.search(to_fresh[1])


async def test_a_link_signs_in_once_and_my_orders_shows_the_accounts_orders(stack: Stack) -> None:
    address = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    async with stack.http() as admin:
        event = await create_event(admin)
    async with page_client(stack) as guest:
        held = await reserve(guest, event, quantity=1, email=address, name="Guest Buyer")
        assert held.status_code == 303
    guest_order = held.headers["location"].split("/")[3]
    async with page_client(stack) as browser:
        await post_form(browser, "/shop/account/sign-up", "/shop/account/sign-up", email=address)
        (body,) = await _mail_to(stack, address, 1)
        raw = LINK.search(body).group(1)  # type: ignore[union-attr]
        page = await browser.get(f"/shop/account/link/{raw}")
        assert page.status_code == 200 and "Continue" in page.text
        used = await post_form(
            browser, f"/shop/account/link/{raw}", "/shop/account/link", token=raw
        )
        assert used.status_code == 303 and used.headers["location"] == "/shop/account"
        mine = await browser.get("/shop/account")
        assert guest_order in mine.text and address in mine.text
        # The guest order is the account's now: its page opens by the session.
        assert (await browser.get(f"/shop/orders/{guest_order}")).status_code == 200
        again = await post_form(
            browser, f"/shop/account/link/{raw}", "/shop/account/link", token=raw
        )
        assert again.status_code == 400 and "already used" in again.text
        await post_form(browser, "/shop/account", "/shop/account/sign-out")
        assert (await browser.get("/shop/account")).headers["location"].endswith("/sign-in")
        assert (await browser.get(f"/shop/orders/{guest_order}")).status_code == 404
    async with page_client(stack) as stranger:
        assert (await stranger.get(f"/shop/orders/{guest_order}")).status_code == 404
        forged = await post_form(
            stranger, "/shop/account/sign-in", "/shop/account/link", token=raw[:-2] + "xx"
        )
        assert forged.status_code in (400, 422) and "sign-in" in forged.text


async def test_links_and_password_sign_ins_are_rate_limited(stack: Stack) -> None:
    settings = stack_settings(
        stack.services,
        rate_limit_window_seconds=30,
        rate_limit_account_links_per_client=2,
        rate_limit_sign_ins_per_client=2,
    )
    with ApiServer(settings) as api:
        async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=60) as browser:
            links = [
                await post_form(
                    browser,
                    "/shop/account/sign-in",
                    "/shop/account/sign-in/link",
                    email=f"n{i}-{uuid.uuid4().hex[:6]}@example.com",
                )
                for i in range(3)
            ]
            tries = [
                await post_form(
                    browser,
                    "/shop/account/sign-in",
                    "/shop/account/sign-in/password",
                    email="nobody@example.com",
                    password="wrong password here",
                )
                for _ in range(3)
            ]
    assert [r.status_code for r in links] == [200, 200, 429]
    assert "Too many tries" in links[2].text
    assert [r.status_code for r in tries] == [401, 401, 429]
    assert "The email or the password is not right." in tries[0].text
