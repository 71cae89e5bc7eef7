"""Answers for a dependency that is away: a 503 with a JSON message and Retry-After, never a
500, so clients (and load balancers) know to try again rather than that the request was wrong.

PostgreSQL stopping (a restart, a failover) surfaces as SQLAlchemy's OperationalError or
InterfaceError on whatever query a route was making, or as a pool timeout while every connection
waits; Temporal being away as an RPCError the route did not expect. The engine's pool_pre_ping
replaces dead connections, so the API recovers by itself once the database is back."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger(__name__)

#: Seconds a client is told to wait before retrying.
RETRY_AFTER_SECONDS = 2
DATABASE_AWAY = "The database is unavailable; please retry in a few seconds."
ORDER_SERVICE_AWAY = "The order service is unavailable; please retry in a few seconds."
_TEMPORAL_AWAY = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED}


def install_outage_handlers(app: FastAPI) -> None:
    for error in (OperationalError, InterfaceError, PoolTimeoutError):
        app.add_exception_handler(error, _database_away)
    app.add_exception_handler(RPCError, _temporal_error)


def unavailable(detail: str) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


async def _database_away(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
    return unavailable(DATABASE_AWAY)


async def _temporal_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RPCError)
    if exc.status not in _TEMPORAL_AWAY:
        raise exc
    log.warning("Temporal unavailable during %s %s: %s", request.method, request.url.path, exc)
    return unavailable(ORDER_SERVICE_AWAY)
