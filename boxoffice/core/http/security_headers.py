"""Headers every answer carries, so a browser never sniffs, frames or caches what we send."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# The API returns JSON and PDFs: nothing in it may run scripts or load anything. The docs
# pages (Swagger UI, ReDoc) load their own script and styles, so they get a looser policy.
_API_POLICY = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_DOCS_POLICY = (
    b"content-security-policy",
    b"default-src 'self' https://cdn.jsdelivr.net https://fastapi.tiangolo.com; "
    b"script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'",
)
_DOCS = ("/docs", "/redoc")
#: Unless the answer says otherwise (the shop's static files are cached).
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        always = list(_ALWAYS)
        if https:
            always.append((b"strict-transport-security", b"max-age=31536000"))
        # Built once: every answer gets one of these two lists.
        self._api = [*always, _API_POLICY, _NO_STORE]
        self._docs = [*always, _DOCS_POLICY, _NO_STORE]
        self._names = frozenset(name for name, _ in self._api)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if str(scope.get("path", "")).startswith(_DOCS) else self._api
        names = self._names

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                # A header the answer set itself (its own Cache-Control...) is kept as it is.
                present = {name.lower() for name, _ in headers} & names
                added = [h for h in extra if h[0] not in present] if present else extra
                message["headers"] = [*headers, *added]
            await send(message)

        await self.app(scope, receive, with_headers)
