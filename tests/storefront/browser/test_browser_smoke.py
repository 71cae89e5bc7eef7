"""The browser harness itself: Chromium reaches the running stack, screenshots are written,
and the accessibility check fails on what it must."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.conftest import Stack
from tests.storefront.browser.conftest import check_accessibility, screenshot


async def test_the_browser_reaches_the_running_stack(stack: Stack, page: Page, phone: Page) -> None:
    for opened in (page, phone):
        answer = await opened.goto(f"{stack.api_url}/readyz")
        assert answer is not None and answer.ok
        await expect(opened.locator("body")).to_contain_text('"ready":true')
        shot = await screenshot(opened, "readyz")
        assert shot.stat().st_size > 0
    assert shot.name == "readyz-phone.png"


async def test_the_accessibility_check_fails_on_serious_violations(page: Page) -> None:
    await page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
    with pytest.raises(pytest.fail.Exception, match=r"image-alt \(critical\)"):
        await check_accessibility(page)
    await check_accessibility(page, ignore={"image-alt"})
