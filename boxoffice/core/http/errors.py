"""How a refused use case answers over HTTP: one table from the kind of refusal to the status,
for every domain's routes."""

from __future__ import annotations

from typing import NoReturn

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from boxoffice.core.errors import DomainError, ErrorKind
from boxoffice.core.http.outages import RETRY_AFTER_SECONDS

HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.INVALID: 422,
    ErrorKind.REFUSED: 409,
    ErrorKind.SOLD_OUT: 409,
    ErrorKind.TOO_MANY: 429,
    ErrorKind.UNAVAILABLE: 503,
}


def http_error(error: DomainError) -> HTTPException:
    headers = (
        {"Retry-After": str(RETRY_AFTER_SECONDS)} if error.kind == ErrorKind.UNAVAILABLE else None
    )
    return HTTPException(HTTP_STATUS[error.kind], error.message, headers=headers)


def raise_http(error: DomainError) -> NoReturn:
    raise http_error(error) from None


def error_response(error: DomainError) -> JSONResponse:
    """The answer `raise_http` leads to, without raising: for a route's cheapest path, where
    the trip through the exception handlers costs a good part of its work."""
    return http_error_response(http_error(error))


def http_error_response(error: StarletteHTTPException) -> JSONResponse:
    """How every HTTPException is answered (the app's handler too): `{"detail": ...}`."""
    return JSONResponse(
        {"detail": error.detail}, status_code=error.status_code, headers=error.headers
    )
