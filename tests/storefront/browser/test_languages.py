"""The pages in Brazilian Portuguese for a browser asking for it (Accept-Language), money
written the Brazilian way, and the language switcher going back to English for good."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Browser, expect

from tests.conftest import Stack
from tests.storefront.browser.conftest import open_page
from tests.storefront.browser.shop import CHECKOUT, STRIPE_WIDGET, event_url, look

EUR_45 = re.compile(r"€\s45,00")


async def test_a_brazilian_browser_gets_portuguese_pages_and_can_switch(
    stack: Stack, browser: Browser, shop_event: dict[str, Any]
) -> None:
    for phone in (False, True):
        async with open_page(browser, phone=phone, locale="pt-BR") as page:
            await page.goto(f"{stack.api_url}/shop")
            await expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
            await expect(page.get_by_role("heading", level=1)).to_have_text("Em cartaz")
            await look(page, "events-pt-BR")
            await page.get_by_role("link", name=shop_event["name"]).click()
            await expect(page.get_by_role("button", name="Reservar ingressos")).to_be_visible()
            await expect(page.get_by_text(EUR_45).first).to_be_visible()
            await look(page, "event-pt-BR")
    async with open_page(browser, locale="pt-BR") as page:
        await page.goto(event_url(stack.api_url, shop_event))
        await page.get_by_label("Quantidade de General").select_option("1")
        await page.get_by_label("Nome", exact=True).fill("João da Silva")
        await page.get_by_label("E-mail", exact=True).fill("joao@example.com")
        await page.get_by_role("button", name="Reservar ingressos").click()
        await expect(page).to_have_url(CHECKOUT)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Pagamento")
        await expect(
            page.get_by_role("button", name=re.compile(r"^Pagar €\s45,00$"))
        ).to_be_visible()
        await look(page, "checkout-pt-BR", exclude=[STRIPE_WIDGET])

        await page.get_by_role("link", name="English").click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
        await expect(page.get_by_role("button", name="Pay €45.00")).to_be_visible()
        # The choice outlasts the browser's Accept-Language on the next pages.
        await page.goto(event_url(stack.api_url, shop_event))
        await expect(page.get_by_role("button", name="Reserve tickets")).to_be_visible()
        await expect(page.get_by_role("link", name="Português (Brasil)")).to_be_visible()
