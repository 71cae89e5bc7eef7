"""The public catalogue, answered from memory for a moment: an on-sale's page views cost
little.

In a flash sale thousands of buyers load the same event at once; rendering it for each (a
session, two queries, JSON) made 200 concurrent `GET /events` take a second each. Here each page
is rendered at most once per `CATALOGUE_CACHE_SECONDS` per API process, concurrent misses wait
for that one rendering, and the answer carries an ETag, so a client that has it gets `304`.
Availability shown may be that much old; what is sold is decided by the reservation alone."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from fastapi import Request, Response

#: Pages kept at most (each cursor of the listing is a page of its own).
MAX_PAGES = 1000


@dataclass(frozen=True)
class Page:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    page: T
    expires: float


class Memo(Generic[T]):
    """What `render` gave for a key, kept `seconds`; concurrent misses wait for one rendering.
    The JSON catalogue keeps its pages here, the storefront the events its pages show."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._entries: dict[Hashable, _Entry[T]] = {}
        self._rendering: dict[Hashable, asyncio.Future[T | None]] = {}

    async def page(self, key: Hashable, render: Callable[[], Awaitable[T | None]]) -> T | None:
        """The value under `key`, rendered by `render` unless a fresh one is kept; None (say, no
        such event) is never kept."""
        if self.seconds <= 0:
            return await render()
        entry = self._entries.get(key)
        if entry is not None and entry.expires > self._clock():
            return entry.page
        rendering = self._rendering.get(key)
        if rendering is None:
            rendering = asyncio.ensure_future(self._render(key, render))
            self._rendering[key] = rendering
        # Shielded: one caller giving up (its client went away) does not cancel the others'.
        return await asyncio.shield(rendering)

    async def _render(self, key: Hashable, render: Callable[[], Awaitable[T | None]]) -> T | None:
        try:
            page = await render()
            if page is not None:
                self._keep(key, page)
            return page
        finally:
            del self._rendering[key]

    def _keep(self, key: Hashable, page: T) -> None:
        now = self._clock()
        if len(self._entries) >= MAX_PAGES:
            self._entries = {k: e for k, e in self._entries.items() if e.expires > now}
            if len(self._entries) >= MAX_PAGES:
                self._entries.pop(next(iter(self._entries)))
        self._entries[key] = _Entry(page, now + self.seconds)


class CatalogueCache(Memo[Page]):
    """The JSON catalogue's pages, answered with ETags."""

    def answer(self, request: Request, page: Page) -> Response:
        """200 with the page, or 304 when the client has it already (If-None-Match)."""
        max_age = math.ceil(self.seconds)
        headers = {
            **page.headers,
            "ETag": page.etag,
            "Cache-Control": f"public, max-age={max_age}" if max_age else "no-cache",
        }
        if _matches(request.headers.get("if-none-match"), page.etag):
            return Response(status_code=304, headers=headers)
        return Response(page.body, media_type="application/json", headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in wanted or etag in wanted
