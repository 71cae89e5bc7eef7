"""The load client: N buyers at once (a closed loop), each request timed on this clock.

One asyncio loop drives every request, ours and the baselines', so the client's own cost is the
same on both sides of each ratio. aiohttp, not httpx: httpx's connection pool answered about 80
requests/s at 200 connections here (aiohttp: 400-1,600/s against the same bare endpoint), so it
measured itself rather than the server."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from boxoffice.auth.tokens import mint_token
from boxoffice.core.settings import Settings


@dataclass(frozen=True)
class Sample:
    """One request: when it started and ended (time.time(), seconds) and how it was answered."""

    start: float
    end: float
    status: int

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class LoadResult:
    label: str
    concurrency: int
    samples: list[Sample] = field(default_factory=list)

    @property
    def elapsed(self) -> float:
        if not self.samples:
            return 0.0
        return max(s.end for s in self.samples) - min(s.start for s in self.samples)

    def rate(self, status: int | None = None) -> float:
        """Answers per second over the whole run (only those with `status`, when given)."""
        chosen = [s for s in self.samples if status is None or s.status == status]
        return len(chosen) / self.elapsed if self.elapsed > 0 else 0.0

    def statuses(self) -> dict[str, int]:
        return {str(k): v for k, v in sorted(Counter(s.status for s in self.samples).items())}

    def summary(self, status: int | None = None) -> dict[str, Any]:
        chosen = [s.seconds for s in self.samples if status is None or s.status == status]
        return {
            "label": self.label,
            "concurrency": self.concurrency,
            "requests": len(self.samples),
            "statuses": self.statuses(),
            "elapsed_s": round(self.elapsed, 3),
            "rate_per_s": round(self.rate(status), 2),
            **latency_summary(chosen),
        }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an unsorted list; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    # The mean beside the percentiles: in a closed loop it is the buyers at once over the rate
    # they are answered (Little's law), whatever the order they are answered in.
    return {
        **{
            f"p{q}_ms": round(percentile(seconds, q) * 1000, 1) if seconds else math.nan
            for q in (50, 95, 99)
        },
        "mean_ms": round(statistics.fmean(seconds) * 1000, 1) if seconds else math.nan,
    }


async def closed_loop(
    label: str,
    request: Callable[[int], Awaitable[int]],
    count: int,
    concurrency: int,
    time_limit: float,
) -> LoadResult:
    """Run `request(i)` for i in 0..count-1 with `concurrency` in flight; no new request starts
    after `time_limit` seconds. `request` returns the answer's status (0 for an error)."""
    result = LoadResult(label, concurrency)
    next_index = 0
    deadline = time.monotonic() + time_limit

    async def buyer() -> None:
        nonlocal next_index
        while next_index < count and time.monotonic() < deadline:
            index = next_index
            next_index += 1
            start = time.time()
            try:
                status = await request(index)
            except (aiohttp.ClientError, OSError, TimeoutError):
                status = 0
            result.samples.append(Sample(start, time.time(), status))

    await asyncio.gather(*(buyer() for _ in range(min(concurrency, count))))
    return result


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


class Http:
    """A pooled HTTP client for one load run; connections kept alive, as a storefront's are."""

    def __init__(self, base_url: str, concurrency: int, timeout: float = 120) -> None:
        self._session = aiohttp.ClientSession(
            base_url,
            headers=staff_headers(),
            connector=aiohttp.TCPConnector(limit=concurrency + 10),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._session.close()

    async def post(self, path: str, body: Any) -> Answer:
        async with self._session.post(path, json=body) as response:
            return Answer(response.status, await _json(response))

    async def get(self, path: str) -> Answer:
        async with self._session.get(path) as response:
            return Answer(response.status, await _json(response))


async def _json(response: aiohttp.ClientResponse) -> Any:
    if response.content_type != "application/json":
        await response.read()
        return None
    return await response.json()


#: The stack's API trusts tokens signed with this (stack.py puts it in the environment).
AUTH_SECRET = "bench-auth-secret-of-enough-length"


def staff_headers() -> dict[str, str]:
    """Every role, so one client creates events, buys and reads any order: the bench measures
    the API's work, and token checks are part of it."""
    settings = Settings(auth_secret=AUTH_SECRET, _env_file=None)
    token = mint_token(settings, "bench", ["admin", "support", "gate"])
    return {"Authorization": f"Bearer {token}"}


def http_client(base_url: str, concurrency: int) -> Http:
    return Http(base_url, concurrency)


#: What a browser sends with a page's GET (no bearer token: pages are the public's).
BROWSER_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-GB,en;q=0.9",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) boxoffice-bench",
}


def browser(base_url: str, concurrency: int, timeout: float = 120) -> aiohttp.ClientSession:
    """Pages as browsers load them: keep-alive connections and the cookies answers set (the
    CSRF cookie of a first visit goes with each view after it, as on a refresh)."""
    return aiohttp.ClientSession(
        base_url,
        headers=BROWSER_HEADERS,
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # unsafe: accept cookies from 127.0.0.1
        connector=aiohttp.TCPConnector(limit=concurrency + 10),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )


def per_second(times: list[float], origin: float) -> list[int]:
    """How many of `times` fall in each whole second after `origin` (for throughput plots)."""
    if not times:
        return []
    buckets = [0] * (int(max(times) - origin) + 1)
    for t in times:
        buckets[max(0, int(t - origin))] += 1
    return buckets
