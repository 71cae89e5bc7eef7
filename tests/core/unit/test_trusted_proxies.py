"""TRUSTED_PROXIES: the API believes X-Forwarded-For and X-Forwarded-Proto from its proxies
only. Behind an ingress the per-client rate limits then count buyers rather than the ingress,
and redirects keep https; from any other peer the headers change nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import ValidationError

from boxoffice.app import create_app
from boxoffice.auth.access import client_address
from boxoffice.core.settings import Settings

INGRESS = "10.1.2.3"
FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def app_with_a_mirror(tmp_path: Path, trusted_proxies: str) -> FastAPI:
    """The real app and its middlewares, plus a route answering what a request looks like to
    the routes (the address the rate limits count it as, and its scheme)."""
    app = create_app(Settings(data_dir=tmp_path, trusted_proxies=trusted_proxies))

    async def mirror(request: Request) -> dict[str, str]:
        return {"client": client_address(request), "scheme": request.url.scheme}

    app.add_api_route("/mirror", mirror)
    return app


async def seen(app: FastAPI, peer: str, path: str = "/mirror") -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.example") as http:
        return await http.get(path, headers=FORWARDED)


async def test_a_trusted_proxy_forwards_the_client_and_scheme(tmp_path: Path) -> None:
    app = app_with_a_mirror(tmp_path, "10.0.0.0/8, 192.168.0.1")
    assert (await seen(app, INGRESS)).json() == {"client": "203.0.113.7", "scheme": "https"}
    # A redirect (here: the trailing slash) goes to the URL the buyer used, not plain http.
    redirect = await seen(app, INGRESS, "/healthz/")
    assert redirect.headers["location"] == "https://shop.example/healthz"


async def test_anyone_else_is_taken_at_their_own_address(tmp_path: Path) -> None:
    app = app_with_a_mirror(tmp_path, "10.0.0.0/8")
    answer = await seen(app, "198.51.100.9")
    assert answer.json() == {"client": "198.51.100.9", "scheme": "http"}


async def test_unset_trusts_no_one_not_even_the_loopback(tmp_path: Path) -> None:
    app = app_with_a_mirror(tmp_path, "")
    for peer in (INGRESS, "127.0.0.1"):
        assert (await seen(app, peer)).json() == {"client": peer, "scheme": "http"}


@pytest.mark.parametrize("value", ["*", "ingress.local", "10.0.0.0/33"])
def test_anything_but_addresses_and_networks_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValidationError, match="is not an IP address or network"):
        Settings(data_dir=tmp_path, trusted_proxies=value)
