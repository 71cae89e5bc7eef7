"""CSRF: a form goes through only with the token of its own browser, from our own origin."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import Request

from boxoffice.storefront.guards import CsrfRefused, checked_form, checked_script

TOKEN = "k" * 43


def request(
    *,
    cookie: str | None = TOKEN,
    header: str | None = None,
    origin: str | None = None,
    body: bytes = b"",
) -> Request:
    headers = [(b"host", b"shop.example"), (b"content-type", b"application/x-www-form-urlencoded")]
    if cookie is not None:
        headers.append((b"cookie", f"bxo_csrf={cookie}".encode()))
    if header is not None:
        headers.append((b"x-csrf-token", header.encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    settings = SimpleNamespace(public_base_url="https://tickets.example")
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "app": app}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


async def test_the_matching_token_passes() -> None:
    form = await checked_form(request(body=f"csrf_token={TOKEN}&name=Ada".encode()))
    assert form["name"] == "Ada"
    await checked_script(request(header=TOKEN))
    await checked_script(request(header=TOKEN, origin="https://shop.example"))
    await checked_script(request(header=TOKEN, origin="https://tickets.example"))


@pytest.mark.parametrize(
    "case",
    [
        {"body": b"name=Ada"},  # no token in the form
        {"body": f"csrf_token={TOKEN}x".encode()},  # another token
        {"cookie": None, "body": f"csrf_token={TOKEN}".encode()},  # no cookie: no page was seen
        {"body": b"csrf_token="},
        {"origin": "https://evil.example", "body": f"csrf_token={TOKEN}".encode()},
        {"origin": "null", "body": f"csrf_token={TOKEN}".encode()},  # a sandboxed frame
    ],
)
async def test_a_form_from_elsewhere_is_refused(case: dict[str, object]) -> None:
    with pytest.raises(CsrfRefused):
        await checked_form(request(**case))  # type: ignore[arg-type]


@pytest.mark.parametrize("header", [None, "", "other", TOKEN[:-1]])
async def test_a_script_without_the_token_is_refused(header: str | None) -> None:
    with pytest.raises(CsrfRefused):
        await checked_script(request(header=header))
