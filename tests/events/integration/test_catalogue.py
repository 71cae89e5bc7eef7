"""The public catalogue over HTTP: pages that follow each other, and the brief cache."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests.conftest import ApiServer, Stack, stack_settings
from tests.purchases import create_event

_NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


async def test_the_listing_comes_in_pages_that_follow_each_other(stack: Stack) -> None:
    async with stack.http() as http:
        created = {(await create_event(http))["id"] for _ in range(5)}
        everything = (await http.get("/events", params={"limit": 200})).json()
        seen: list[str] = []
        url: str | None = "/events?limit=2"
        while url is not None:
            page = await http.get(url)
            assert page.status_code == 200, page.text
            assert len(page.json()) <= 2
            seen += [event["id"] for event in page.json()]
            link = page.headers.get("Link")
            url = _NEXT.match(link)["url"] if link else None  # type: ignore[index]
        assert created <= set(seen)
        assert len(seen) == len(set(seen)), "an event on two pages"
        if len(everything) < 200:
            assert seen == [event["id"] for event in everything]
        bad = await http.get("/events", params={"cursor": "bm90LWEtY3Vyc29y"})
        assert bad.status_code == 422 and "cursor" in bad.json()["detail"]
        assert (await http.get("/events", params={"limit": 0})).status_code == 422


async def test_page_views_carry_an_etag_and_a_repeat_gets_304(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http)
    settings = stack_settings(stack.services, catalogue_cache_seconds=30)
    with ApiServer(settings) as api:
        async with httpx.AsyncClient(base_url=api.url, trust_env=False, timeout=60) as http:
            views = await asyncio.gather(*(http.get(f"/events/{event['id']}") for _ in range(100)))
            assert {view.status_code for view in views} == {200}
            etags = {view.headers["ETag"] for view in views}
            assert len(etags) == 1
            again = await http.get(f"/events/{event['id']}", headers={"If-None-Match": etags.pop()})
            assert again.status_code == 304 and again.content == b""
            assert views[0].headers["Cache-Control"] == "public, max-age=30"
