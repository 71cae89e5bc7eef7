"""A bug answers like every other error: JSON `{"detail": ...}`, with the security headers.

Starlette turns an unhandled exception into a plain-text 500 in its outermost middleware, past
every middleware of ours, so that answer had neither our JSON body nor our headers. This one
sits just inside the security headers and answers first."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from boxoffice.core.http.asgi_answers import TrackedSend, send_json_error

log = logging.getLogger("boxoffice.api")

INTERNAL_ERROR = "Something went wrong on our side; the error was logged. Please try again."


class InternalErrorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("unhandled error during %s %s", scope["method"], scope["path"])
            if tracked.started:  # half an answer went out: only closing the connection is left
                raise
            await send_json_error(send, 500, INTERNAL_ERROR)
