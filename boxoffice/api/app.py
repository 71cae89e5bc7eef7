"""The FastAPI application. `create_app()` builds it; uvicorn runs it with `--factory`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from boxoffice.api import admin, admin_orders, events, health, orders, webhooks
from boxoffice.db.engine import create_engine, session_factory
from boxoffice.s3 import make_s3_client
from boxoffice.settings import Settings, get_settings
from boxoffice.temporal_client import connect


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logging.basicConfig(level=settings.log_level)
        engine = create_engine(settings)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.temporal = await connect(settings, lazy=True)
        app.state.s3 = make_s3_client(settings)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Boxoffice",
        version="0.1.0",
        description="Buy tickets: every purchase is a durable Temporal workflow.",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(events.router)
    app.include_router(orders.router)
    app.include_router(webhooks.router)
    app.include_router(admin.router)
    app.include_router(admin_orders.router)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    return app


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """A 422 whose `detail` says in one line what is wrong, with the full list in `errors`."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
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


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
