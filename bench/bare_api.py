"""The bare FastAPI baseline for refusals: `POST /orders` parses the same body as ours and
answers 409, touching nothing else. uvicorn runs it with the same flags as our API."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from boxoffice.orders.schemas import OrderCreate


def create_bare_app() -> FastAPI:
    app = FastAPI(title="bare 409")

    @app.post("/orders", status_code=409)
    async def refuse(body: OrderCreate) -> JSONResponse:
        return JSONResponse({"detail": "Not enough seats left."}, status_code=409)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    return app
