"""The API's middlewares, in their order, set up in one place: `create_app` uses it, and so does
the bench's bare endpoint that measures what they cost (`bench/bare_api.py`)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from boxoffice.core.http.body_limit import BodyLimitMiddleware
from boxoffice.core.http.internal_errors import InternalErrorMiddleware
from boxoffice.core.http.security_headers import SecurityHeadersMiddleware
from boxoffice.core.observability.metrics import ApiMetrics, HttpMetricsMiddleware
from boxoffice.core.observability.tracing import instrument_app
from boxoffice.core.settings import Settings


def add_middlewares(app: FastAPI, settings: Settings, metrics: ApiMetrics) -> None:
    """Each one added wraps those before it, so the last is outermost. Must run before the
    app starts."""
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Order-Token"],
            expose_headers=["Location", "Retry-After", "ETag"],
        )
    # An oversized body is refused before any other work (metrics aside)...
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    # ...a bug answers JSON like every other error...
    app.add_middleware(InternalErrorMiddleware)
    # ...and added last, so outermost: every answer, a 413 and a 500 too, has the headers.
    app.add_middleware(
        SecurityHeadersMiddleware, https=settings.public_base_url.startswith("https://")
    )
    # Outermost of all when tracing is on: a request's span covers everything above.
    instrument_app(app)
    # The client and scheme a trusted proxy forwarded, for everything above (TRUSTED_PROXIES;
    # uvicorn's own is off in the chart, so this setting alone decides).
    if settings.trusted_proxy_list:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
