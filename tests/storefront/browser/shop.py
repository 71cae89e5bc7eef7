"""What the end-to-end tests do as a buyer again and again: look at a page (axe-core and a
screenshot), reserve seats from an event page, type a card into Stripe.js's fields and pay.
Fields are found by their labels and buttons by their names, as a person finds them; only
Stripe's own card fields, which are not ours and have no labels in the emulator's stand-in,
are found by their placeholders."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from playwright.async_api import Page, expect

from tests.storefront.browser.conftest import DESKTOP, PHONE, check_accessibility, screenshot

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"
THREE_D_SECURE_CARD = "4000000000003220"
#: Stripe.js's card fields: Stripe's widget, left out of our accessibility check.
STRIPE_WIDGET = "#card-element"
CHECKOUT = re.compile(r"/shop/orders/([^/?#]+)/checkout$")
ORDER = re.compile(r"/shop/orders/([^/?#]+)$")
PAY = re.compile(r"^Pay ")


async def look(page: Page, name: str, *, exclude: Collection[str] = ()) -> None:
    """No serious accessibility violation on the page as it is, and a screenshot of it."""
    await check_accessibility(page, exclude=exclude)
    await screenshot(page, name)


async def look_at_both_widths(page: Page, name: str, *, exclude: Collection[str] = ()) -> None:
    """`look` at desktop width, then again with the window narrowed to a phone's 360 px (the
    pages' layout follows the width alone), then back."""
    await page.set_viewport_size(DESKTOP)
    await look(page, name, exclude=exclude)
    await page.set_viewport_size(PHONE)
    try:
        await look(page, name, exclude=exclude)
    finally:
        await page.set_viewport_size(DESKTOP)


def event_url(api_url: str, event: dict[str, Any]) -> str:
    return f"{api_url}/shop/events/{event['id']}"


async def reserve(
    page: Page,
    *,
    quantity: int = 1,
    name: str = "Ada Lovelace",
    email: str = "ada@example.com",
    ticket_type: str = "General",
) -> str:
    """On an event's page: choose the tickets, give a name and an address, reserve; returns
    the order's id once the checkout shows."""
    await page.get_by_label(f"Quantity of {ticket_type}").select_option(str(quantity))
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_role("button", name="Reserve tickets").click()
    await expect(page).to_have_url(CHECKOUT)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    return order_id(page)


def order_id(page: Page) -> str:
    """The order's id in the address of its checkout or its page."""
    found = CHECKOUT.search(page.url) or ORDER.search(page.url)
    assert found, page.url
    return found.group(1)


async def pay(page: Page, card: str) -> None:
    """On the checkout: the card into Stripe.js's fields (each typed anew), then "Pay ..."."""
    fields = {"number": card, "exp_month": "12", "exp_year": "35", "cvc": "123"}
    for placeholder, value in {**fields, "postal_code": "10115"}.items():
        await page.get_by_placeholder(placeholder, exact=True).fill(value)
    await page.get_by_role("button", name=PAY).click()


async def expect_status(page: Page, text: str | re.Pattern[str]) -> None:
    """The order page's status line says `text` (the page updates it by itself)."""
    await expect(page.get_by_role("status")).to_contain_text(text)


async def reserve_and_pay(page: Page, url: str, card: str = GOOD_CARD, **buyer: Any) -> str:
    """A guest's whole purchase from the event page at `url` to the order page; its id."""
    await page.goto(url)
    order = await reserve(page, **buyer)
    await pay(page, card)
    await expect(page).to_have_url(ORDER)
    return order
