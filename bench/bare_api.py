"""The bare FastAPI baselines, run by uvicorn with the same flags as our API.

- Refusals: `POST /orders` parses the same body as ours and answers 409, touching nothing else;
  `POST /with-middlewares/orders` does the same in an app with our API's middlewares, set up by
  the same function (`core/http/middlewares.py`): beside it, the first says what the
  middlewares cost, and our route what the rest of our work costs.
- A page: `GET /shop/events/{event_id}` renders a Jinja2 template holding one static string,
  our event page's HTML as the scenario captured it once (`PUT /bare/page`), so both pages
  are the same size and only the work around them differs."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, Template
from starlette.types import ASGIApp, Receive, Scope, Send

from boxoffice.core.http.middlewares import add_middlewares
from boxoffice.core.observability.metrics import ApiMetrics
from boxoffice.core.observability.tracing import configure_tracing
from boxoffice.core.settings import get_settings
from boxoffice.orders.schemas import OrderCreate

#: Until the scenario gives it a page, the page is this.
EMPTY = "<!doctype html><title>bare</title>"
#: Where the refusal with our middlewares is served.
WITH_MIDDLEWARES = "/with-middlewares"


def create_bare_app() -> ASGIApp:
    """Two apps behind one port: the path's first segment picks one (a string test, the same
    for both)."""
    bare = _bare_app()
    dressed = _dressed_app()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(WITH_MIDDLEWARES):
            await dressed(scope, receive, send)
        else:
            await bare(scope, receive, send)

    return app


def _add_refusal(app: FastAPI, path: str) -> None:
    @app.post(path, status_code=409)
    async def refuse(body: OrderCreate) -> JSONResponse:
        return JSONResponse({"detail": "Not enough seats left."}, status_code=409)


def _bare_app() -> FastAPI:
    app = FastAPI(title="bare baselines")
    _add_refusal(app, "/orders")
    environment = Environment(autoescape=True)
    page: dict[str, Template] = {"event": environment.from_string(EMPTY)}

    @app.put("/bare/page", status_code=204)
    async def set_page(request: Request) -> None:
        """The static HTML the page shows, compiled once into a template of its own."""
        html = (await request.body()).decode()
        page["event"] = environment.from_string("{% raw %}" + html + "{% endraw %}")

    @app.get("/shop/events/{event_id}")
    async def event_page(event_id: str) -> HTMLResponse:
        return HTMLResponse(page["event"].render())

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _dressed_app() -> FastAPI:
    """One route, and the middlewares `create_app` adds, from the same settings (this process
    gets the API's environment)."""
    configure_tracing("bare-api")  # as `create_app` does: on only when OTEL_* says so
    app = FastAPI(title="bare refusal with our middlewares")
    _add_refusal(app, f"{WITH_MIDDLEWARES}/orders")
    add_middlewares(app, get_settings(), ApiMetrics())
    return app
