"""A bug answers like every other error: JSON `{"detail": ...}`, with the security headers.

Starlette turns an unhandled exception into a plain-text 500 in its outermost middleware, past
every middleware of ours, so that answer had neither our JSON body nor our headers. This one
sits just inside the security headers and answers first."""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("boxoffice.api")

INTERNAL_ERROR = "Something went wrong on our side; the error was logged. Please try again."


class InternalErrorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error during %s %s", scope["method"], scope["path"])
            if started:  # half an answer went out: only closing the connection is left
                raise
            body = json.dumps({"detail": INTERNAL_ERROR}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
