"""A dependency that is away answers 503 with a JSON message and Retry-After, never a 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.core.http.outages import DATABASE_AWAY, ORDER_SERVICE_AWAY, install_outage_handlers


def _app(error: Exception) -> FastAPI:
    app = FastAPI()
    install_outage_handlers(app)

    @app.get("/fails")
    async def fails() -> None:
        raise error

    return app


async def _get(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        return await http.get("/fails")


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        InterfaceError("SELECT 1", {}, Exception("connection already closed")),
        PoolTimeoutError("QueuePool limit reached"),
    ],
    ids=["operational", "interface", "pool-timeout"],
)
async def test_database_away_answers_503(error: Exception) -> None:
    response = await _get(_app(error))

    assert response.status_code == 503
    assert response.json() == {"detail": DATABASE_AWAY}
    assert response.headers["Retry-After"] == "2"


async def test_temporal_unavailable_answers_503() -> None:
    response = await _get(_app(RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")))

    assert response.status_code == 503
    assert response.json() == {"detail": ORDER_SERVICE_AWAY}


async def test_other_temporal_errors_stay_errors() -> None:
    response = await _get(_app(RPCError("bad request", RPCStatusCode.INVALID_ARGUMENT, b"")))

    assert response.status_code == 500
