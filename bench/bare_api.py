"""The bare FastAPI baselines, run by uvicorn with the same flags as our API.

- Refusals: `POST /orders` parses the same body as ours and answers 409, touching nothing else.
- A page: `GET /shop/events/{event_id}` renders a Jinja2 template holding one static string,
  our event page's HTML as the scenario captured it once (`PUT /bare/page`), so both pages
  are the same size and only the work around them differs."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, Template

from boxoffice.orders.schemas import OrderCreate

#: Until the scenario gives it a page, the page is this.
EMPTY = "<!doctype html><title>bare</title>"


def create_bare_app() -> FastAPI:
    app = FastAPI(title="bare baselines")
    environment = Environment(autoescape=True)
    page: dict[str, Template] = {"event": environment.from_string(EMPTY)}

    @app.post("/orders", status_code=409)
    async def refuse(body: OrderCreate) -> JSONResponse:
        return JSONResponse({"detail": "Not enough seats left."}, status_code=409)

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
