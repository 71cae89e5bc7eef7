"""Middleware that needs no services: security headers, CORS from settings, body size limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import Response

from boxoffice.app import create_app
from boxoffice.core.http.internal_errors import INTERNAL_ERROR
from boxoffice.core.settings import ABUSE_LIMITS_OFF, Settings


def _client(tmp_path: Path, **settings: object) -> httpx.AsyncClient:
    app = create_app(Settings(data_dir=tmp_path, **settings))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_every_answer_carries_the_security_headers(tmp_path: Path) -> None:
    async with _client(tmp_path) as http:
        response = await http.get("/healthz")
        docs = await http.get("/docs")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers
    # The docs page loads Swagger UI's script, which the API's own policy would block.
    assert "script-src" in docs.headers["Content-Security-Policy"]
    async with _client(tmp_path, public_base_url="https://tickets.example") as http:
        secure = await http.get("/healthz")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_cors_allows_only_the_configured_origins(tmp_path: Path) -> None:
    preflight = {
        "Origin": "https://shop.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }
    async with _client(tmp_path) as http:
        closed = await http.options("/orders", headers=preflight)
    assert "Access-Control-Allow-Origin" not in closed.headers
    async with _client(tmp_path, cors_allowed_origins="https://shop.example") as http:
        allowed = await http.options("/orders", headers=preflight)
        other = await http.options(
            "/orders", headers=preflight | {"Origin": "https://evil.example"}
        )
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_oversized_bodies_are_refused_before_reading(tmp_path: Path) -> None:
    async with _client(tmp_path, max_request_body_bytes=2048) as http:
        declared = await http.post("/orders", content=b"x" * 4096)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b"y" * 1024

        streamed = await http.post("/orders", content=chunks())
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json() == {"detail": "The request body is larger than 2048 bytes."}


def _assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_413_carries_the_security_headers(tmp_path: Path) -> None:
    async with _client(tmp_path, max_request_body_bytes=2048) as http:
        response = await http.post("/orders", content=b"x" * 4096)
    assert response.status_code == 413
    _assert_security_headers(response)


async def test_a_bug_answers_json_500_with_the_security_headers(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug with a secret: ada@example.com")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/boom")
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"detail": INTERNAL_ERROR}
    assert "ada@example.com" not in response.text
    _assert_security_headers(response)


def test_the_limits_off_switch_names_every_abuse_limit(tmp_path: Path) -> None:
    # Settings ignore unknown names, so a misspelt key would leave a limit on unnoticed.
    limits = {
        name
        for name in Settings.model_fields
        if name.startswith(
            ("rate_limit_", "max_tickets_per_buyer", "max_unpaid_tickets", "max_payment_attempts")
        )
        and name != "rate_limit_window_seconds"
    }
    assert set(ABUSE_LIMITS_OFF) == limits
    off = Settings(data_dir=tmp_path, **ABUSE_LIMITS_OFF)  # type: ignore[arg-type]
    assert all(getattr(off, name) == 0 for name in limits)


async def test_an_answer_keeps_its_own_cache_control(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))

    @app.get("/cached")
    async def cached() -> Response:
        return Response(b"x", headers={"Cache-Control": "max-age=60"})

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/cached")
    assert response.headers.get_list("Cache-Control") == ["max-age=60"]
    assert response.headers["X-Frame-Options"] == "DENY"
