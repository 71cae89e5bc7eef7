"""Buyer accounts in Chromium: a guest buys, then signs up with the same address; the link in
the mail catcher signs them in and "My orders" holds the earlier guest order; signing out, and
in again with the password chosen at sign-up."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

from playwright.async_api import Page, expect

from tests.conftest import Stack
from tests.storefront.browser.shop import event_url, look_at_both_widths, reserve_and_pay

LINK = re.compile(r"/shop/account/link/([A-Za-z0-9_-]+)")
PASSWORD = "correct horse battery"


async def test_a_guest_signs_up_and_finds_the_earlier_order(
    stack: Stack, page: Page, shop_event: dict[str, Any]
) -> None:
    email = f"lin-{uuid.uuid4().hex[:8]}@example.com"
    order_id = await reserve_and_pay(
        page, event_url(stack.api_url, shop_event), name="Lin Guest", email=email
    )

    await page.get_by_role("link", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await look_at_both_widths(page, "sign-in")
    await page.get_by_role("link", name="Create one").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    await look_at_both_widths(page, "sign-up")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password (optional)").fill(PASSWORD)
    await page.get_by_role("button", name="Create the account").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    await look_at_both_widths(page, "check-your-email")

    await page.goto(f"{stack.api_url}/shop/account/link/{await _emailed_link(stack, email)}")
    await look_at_both_widths(page, "account-link")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("My orders")
    await expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
    earlier = page.get_by_role("link", name=shop_event["name"])
    await expect(earlier).to_have_attribute("href", f"/shop/orders/{order_id}")
    await look_at_both_widths(page, "my-orders")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    await expect(page.get_by_role("link", name="My orders")).to_have_count(0)
    await page.get_by_role("link", name="Sign in").click()
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in with the password").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("My orders")
    await expect(page.get_by_role("link", name=shop_event["name"])).to_be_visible()
    # The order opens from the list: it is the account's now, not only this browser's.
    await page.get_by_role("link", name=shop_event["name"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your order")


async def _emailed_link(stack: Stack, email: str, within: float = 15) -> str:
    """The token of the newest account link mailed to `email` (the catcher's copy)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for caught in reversed(stack.services.mail.messages):
            if email not in caught.rcpt_tos:
                continue
            text = caught.message.get_body(("plain",))
            found = LINK.search(str(text.get_content())) if text is not None else None
            if found:
                return found.group(1)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no account link was mailed to {email}")
