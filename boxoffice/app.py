"""The FastAPI application. `create_app()` builds it; uvicorn runs it with `--factory`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from boxoffice import storefront
from boxoffice.accounts.service import AccountService
from boxoffice.auth.order_tokens import order_token_secret
from boxoffice.auth.rate_limit import RateLimiter
from boxoffice.auth.tokens import TokenVerifier
from boxoffice.core.database.engine import create_engine, session_factory
from boxoffice.core.http import health
from boxoffice.core.http.errors import http_error_response
from boxoffice.core.http.fields import PATTERN_MEANS
from boxoffice.core.http.middlewares import add_middlewares
from boxoffice.core.http.openapi_doc import install_openapi
from boxoffice.core.http.outages import install_outage_handlers
from boxoffice.core.observability.logging import configure_logging
from boxoffice.core.observability.metrics import ApiMetrics
from boxoffice.core.observability.tracing import configure_tracing
from boxoffice.core.s3 import make_s3_client
from boxoffice.core.settings import Settings, get_settings
from boxoffice.core.temporal.client import connect
from boxoffice.core.temporal.encryption import api as codec
from boxoffice.events import admin_api as admin
from boxoffice.events import api as events
from boxoffice.events.addons import AddonEditing
from boxoffice.events.catalogue_cache import CatalogueCache
from boxoffice.events.editing import EventEditing
from boxoffice.events.lifecycle import api as lifecycle
from boxoffice.events.lifecycle.service import EventLifecycle
from boxoffice.events.service import EventService
from boxoffice.gate import api as gate
from boxoffice.orders import admin_api as admin_orders
from boxoffice.orders import api as orders
from boxoffice.orders import webhooks
from boxoffice.orders.admission.sold_out_memo import SoldOutMemo
from boxoffice.orders.admission.turns import AdmissionTurns
from boxoffice.orders.card_tokens import CardTokens
from boxoffice.orders.client import OrderClient
from boxoffice.orders.service import OrderService
from boxoffice.orders.tickets.codes import public_keys_from_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    metrics = ApiMetrics()
    # Here rather than in the lifespan, where logging is set up: the tracing middleware must be
    # in place before the app starts, and the lifespan's Temporal client picks up the tracing.
    configure_tracing("api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings, service="api")
        engine = create_engine(settings)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.temporal = await connect(settings, lazy=True)
        app.state.s3 = make_s3_client(settings)
        app.state.ticket_public_keys = public_keys_from_settings(settings)
        app.state.token_verifier = TokenVerifier(settings)
        app.state.order_token_secret = order_token_secret(settings)
        app.state.events = EventService(app.state.sessions, settings.default_refund_cutoff_hours)
        app.state.event_editing = EventEditing(app.state.sessions)
        app.state.addon_editing = AddonEditing(app.state.sessions)
        app.state.event_lifecycle = EventLifecycle(app.state.sessions, app.state.temporal, settings)
        app.state.order_client = OrderClient(app.state.temporal, settings)
        app.state.card_tokens = CardTokens(settings)
        app.state.accounts = AccountService(app.state.sessions, settings)
        app.state.orders = OrderService(
            app.state.sessions,
            app.state.order_client,
            settings,
            app.state.s3,
            memo=app.state.sold_out,
            turns=app.state.admission_turns,
        )
        limiter = RateLimiter(app.state.sessions, settings.rate_limit_window_seconds)
        app.state.rate_limiter = limiter
        chores = [
            asyncio.create_task(
                metrics.needs_attention.refresh_forever(app.state.sessions),
                name="count-orders-needing-attention",
            ),
            asyncio.create_task(limiter.forget_old_forever(), name="forget-rate-limits"),
        ]
        try:
            yield
        finally:
            for chore in chores:
                chore.cancel()
                with suppress(asyncio.CancelledError):
                    await chore
            await engine.dispose()

    app = FastAPI(
        title="Boxoffice",
        version="0.1.0",
        description="Buy tickets: every purchase is a durable Temporal workflow.",
        lifespan=lifespan,
    )
    # Routes are matched in the order they are included, and a flash sale is mostly
    # POST /orders: its router first (no path of the others overlaps its paths).
    app.include_router(orders.router)
    app.include_router(storefront.FRONT)
    app.include_router(health.router)
    app.include_router(events.router)
    app.include_router(webhooks.router)
    app.include_router(admin.router)
    app.include_router(lifecycle.router)
    app.include_router(admin_orders.router)
    app.include_router(gate.router)
    app.include_router(codec.router)
    storefront.install(app, settings)
    app.state.metrics = metrics
    app.state.sold_out = SoldOutMemo(settings.sold_out_memory_seconds)
    app.state.catalogue = CatalogueCache(settings.catalogue_cache_seconds)
    app.state.admission_turns = AdmissionTurns(settings.admissions_at_once_per_type)
    add_middlewares(app, settings, metrics)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """Prometheus metrics of this API process (the workers serve theirs themselves)."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    install_openapi(app)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    install_outage_handlers(app)
    return app


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """A 422 whose `detail` says in one line what is wrong, with the full list in `errors`."""
    assert isinstance(exc, RequestValidationError)
    errors = _without_null_branches(exc.errors())
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        if error.get("type") == "string_pattern_mismatch":
            meaning = PATTERN_MEANS.get(str((error.get("ctx") or {}).get("pattern")))
            if meaning is not None:
                error["msg"] = meaning
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return JSONResponse(
        {
            "detail": "; ".join(parts) or "Invalid request.",
            "errors": [
                {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                for e in errors
            ],
        },
        status_code=422,
    )


def _without_null_branches(errors: Sequence[Any]) -> list[Any]:
    """A wrong value for a field that may also be null fails both branches of its union: say
    only what the value should have been (`hidden: Input should be a valid boolean`)."""
    branched = {
        tuple(e["loc"][:-1]) for e in errors if e.get("type") == "none_required" and e["loc"]
    }
    kept = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "none_required" and loc[:-1] in branched:
            continue
        if loc[:-1] in branched:
            error = {**error, "loc": loc[:-1]}
        kept.append(error)
    return kept


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return http_error_response(exc)
