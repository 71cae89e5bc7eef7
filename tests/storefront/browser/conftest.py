"""Headless Chromium against the running stack (`stack.api_url`), for the storefront's
end-to-end tests: a browser per session, a fresh context per test (no cookie or storage leaks
between tests), desktop and phone sizes, an axe-core check and screenshots for a human to look at.

Debian's `chromium` is the browser (`.ci/run` installs it); Playwright's own download is never
used, since these machines reach only package registries. Everything here is async on the
session loop, because the stack's workers run on that loop: a synchronous browser call would
stall every order the page starts."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Collection
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from tests.conftest import Stack
from tests.purchases import create_event

DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=360, height=740)
SCREENSHOTS = Path(__file__).resolve().parents[3] / "build" / "screenshots"
#: Every wait of a test (navigation, locator, expect) gives up after this, not Playwright's 30 s.
TIMEOUT_MS = 15_000
#: Only the stack on this machine: a page asking for anything else (a CDN) fails at once,
#: instead of hanging until a timeout on a machine without internet, or passing on one with it.
LOCAL_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
FAILING_IMPACTS = ("serious", "critical")

# Playwright's `expect` has a default of its own (5 s), apart from the context's.
expect.set_options(timeout=TIMEOUT_MS)

_axe = Axe()


def chromium_path() -> str:
    """BOXOFFICE_CHROMIUM, else `chromium` on PATH. Missing is a failure, not a skip, so CI
    never passes without having run these tests."""
    path = os.environ.get("BOXOFFICE_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "the browser tests need Chromium: apt-get install chromium "
            "(or set BOXOFFICE_CHROMIUM to a Chromium binary)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=[LOCAL_ONLY]
        )
        try:
            yield launched
        finally:
            await launched.close()


@contextlib.asynccontextmanager
async def open_page(
    browser: Browser, *, phone: bool = False, locale: str = "en-US"
) -> AsyncIterator[Page]:
    """A page in a context of its own (cookies, storage), desktop or phone sized, whose
    browser asks for `locale` (Accept-Language); fails the test on an uncaught JavaScript
    error. The fixtures use it; a test wanting a second visitor (a guest beside a signed-in
    buyer) opens one more."""
    options: dict[str, Any] = {"viewport": PHONE if phone else DESKTOP}
    if phone:
        options.update(is_mobile=True, has_touch=True)
    context = await browser.new_context(locale=locale, **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    try:
        yield page
    finally:
        await context.close()
    if errors:
        pytest.fail("uncaught JavaScript errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A desktop page (1280x800)."""
    async with open_page(browser) as opened:
        yield opened


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    """A phone page (360x740, touch, the page's meta viewport honoured)."""
    async with open_page(browser, phone=True) as opened:
        yield opened


async def screenshot(page: Page, name: str) -> Path:
    """The whole page as build/screenshots/<name>-desktop.png or -phone.png (by its width),
    for a human to look at; nothing compares them."""
    size = "phone" if (page.viewport_size or DESKTOP)["width"] <= PHONE["width"] else "desktop"
    path = SCREENSHOTS / f"{name}-{size}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=path, full_page=True)
    return path


async def check_accessibility(
    page: Page, *, ignore: Collection[str] = (), exclude: Collection[str] = ()
) -> None:
    """axe-core's rules on the page as it is now; fails on serious or critical violations,
    listing each rule and the elements breaking it. `ignore`: rule ids a test accepts;
    `exclude`: CSS selectors of parts that are not ours (Stripe's card fields)."""
    context = {"exclude": list(exclude)} if exclude else None
    results = await _axe.run(page, context=context)
    violations: list[dict[str, Any]] = [
        found
        for found in results.response["violations"]
        if found["impact"] in FAILING_IMPACTS and found["id"] not in ignore
    ]
    if violations:
        report = "\n".join(_describe(found) for found in violations)
        pytest.fail(
            f"{len(violations)} accessibility violation(s) on {page.url}:\n{report}",
            pytrace=False,
        )


def _describe(violation: dict[str, Any], shown: int = 5) -> str:
    nodes: list[dict[str, Any]] = violation["nodes"]
    lines = [f"- {violation['id']} ({violation['impact']}): {violation['help']}"]
    lines.append(f"  {violation['helpUrl']}")
    for node in nodes[:shown]:
        target = " ".join(str(part) for part in node["target"])
        summary = " ".join(str(node.get("failureSummary", "")).split())
        lines.append(f"  at {target}: {summary}")
        lines.append(f"     {' '.join(str(node['html']).split())[:200]}")
    if len(nodes) > shown:
        lines.append(f"  ... and {len(nodes) - shown} more")
    return "\n".join(lines)


@pytest.fixture(scope="session")
async def shop_event(stack: Stack) -> dict[str, Any]:
    """One event for every test that only buys from it (General: 500 seats, EUR 45.00).
    It starts in a few hours, so it comes before the many events the other tiers leave (a
    month ahead) in the shop's list of the first hundred; refunds are allowed until an hour
    before."""
    async with stack.http() as admin:
        return await create_event(
            admin, capacity=500, starts_in=timedelta(hours=5), refund_cutoff_hours=1
        )
