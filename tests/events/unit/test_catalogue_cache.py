"""The catalogue cache: one rendering per page and moment however many ask, then ETags."""

from __future__ import annotations

import asyncio

from fastapi import Request

from boxoffice.events.catalogue_cache import CatalogueCache, Page


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _request(if_none_match: str | None = None) -> Request:
    headers = [(b"if-none-match", if_none_match.encode())] if if_none_match else []
    return Request({"type": "http", "method": "GET", "path": "/events", "headers": headers})


async def test_concurrent_misses_render_once() -> None:
    cache = CatalogueCache(1.0, Clock())
    renders = 0

    async def render() -> Page:
        nonlocal renders
        renders += 1
        await asyncio.sleep(0.05)
        return Page(b"[]")

    pages = await asyncio.gather(*(cache.page("events", render) for _ in range(200)))
    assert renders == 1
    assert {page.body for page in pages if page is not None} == {b"[]"}


async def test_a_page_is_kept_for_its_seconds_only() -> None:
    clock = Clock()
    cache = CatalogueCache(1.0, clock)
    bodies = iter([b"[1]", b"[2]"])

    async def render() -> Page:
        return Page(next(bodies))

    first = await cache.page("events", render)
    clock.now = 0.9
    assert await cache.page("events", render) == first
    clock.now = 1.1
    second = await cache.page("events", render)
    assert second is not None and second.body == b"[2]"


async def test_nothing_found_is_not_kept_and_zero_seconds_keeps_nothing() -> None:
    renders = 0

    async def missing() -> Page | None:
        nonlocal renders
        renders += 1
        return None

    cache = CatalogueCache(1.0, Clock())
    assert await cache.page("x", missing) is None
    assert await cache.page("x", missing) is None
    off = CatalogueCache(0)
    assert await off.page("x", missing) is None
    assert renders == 3


def test_the_answer_has_an_etag_and_a_304_for_it() -> None:
    cache = CatalogueCache(1.0)
    page = Page(b'[{"id": 1}]', {"Link": '</events?cursor=x>; rel="next"'})
    full = cache.answer(_request(), page)
    assert full.status_code == 200 and full.body == page.body
    assert full.headers["ETag"] == page.etag
    assert full.headers["Cache-Control"] == "public, max-age=1"
    assert full.headers["Link"] == '</events?cursor=x>; rel="next"'
    for sent in (page.etag, f"W/{page.etag}", f'"other", {page.etag}', "*"):
        assert cache.answer(_request(sent), page).status_code == 304
    assert cache.answer(_request('"stale"'), page).status_code == 200
