"""The OpenAPI document, corrected where FastAPI's defaults do not describe what we answer."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

#: Our 422 body (see app._validation_error): one readable line, and every error listed.
_VALIDATION_ERROR = {
    "title": "ValidationErrorBody",
    "type": "object",
    "required": ["detail", "errors"],
    "properties": {
        "detail": {"type": "string", "description": "What is wrong, in one line."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
_MALFORMED = {
    "description": "The body is not valid JSON (or not UTF-8)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}
_TOO_LARGE = {
    "description": "The body is larger than MAX_REQUEST_BODY_BYTES",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def install_openapi(app: FastAPI) -> None:
    """Build the document once, on first request, with our 422 body, and the 400 and 413 that
    any request body can get before a route sees it."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["HTTPValidationError"] = _VALIDATION_ERROR
            schemas.setdefault(
                "ErrorBody",
                {
                    "title": "ErrorBody",
                    "type": "object",
                    "required": ["detail"],
                    "properties": {"detail": {"type": "string"}},
                },
            )
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    if "requestBody" in operation:
                        operation["responses"].setdefault("400", _MALFORMED)
                        operation["responses"].setdefault("413", _TOO_LARGE)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
