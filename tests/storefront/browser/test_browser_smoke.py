"""The browser harness itself: Chromium shows the running stack's shop at both sizes with no
serious accessibility violation, screenshots are written, and the accessibility check fails on
what it must."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.conftest import Stack
from tests.storefront.browser.conftest import check_accessibility, screenshot


async def test_the_shop_in_chromium_on_desktop_and_phone(
    stack: Stack, page: Page, phone: Page, shop_event: dict[str, Any]
) -> None:
    event = shop_event
    for opened in (page, phone):
        answer = await opened.goto(f"{stack.api_url}/")  # redirected to /shop
        assert answer is not None and answer.ok
        assert opened.url == f"{stack.api_url}/shop"
        await expect(opened.get_by_role("heading", level=1)).to_have_text("What is on")
        link = opened.get_by_role("link", name=event["name"])
        await expect(link).to_have_attribute("href", f"/shop/events/{event['id']}")
        await check_accessibility(opened)
        shot = await screenshot(opened, "shop")
        assert shot.stat().st_size > 0
    assert shot.name == "shop-phone.png"


async def test_the_accessibility_check_fails_on_serious_violations(page: Page) -> None:
    await page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
    with pytest.raises(pytest.fail.Exception, match=r"image-alt \(critical\)"):
        await check_accessibility(page)
    await check_accessibility(page, ignore={"image-alt"})
    await page.set_content(
        '<html lang="en"><title>t</title><main><div id="theirs"><img src="x.png"></div></main>'
    )
    await check_accessibility(page, exclude=["#theirs"])  # a widget that is not ours
