"""POST /orders reads its token and Idempotency-Key itself, after the sold-out memory: the
OpenAPI document still says it takes both, and what it may answer."""

from __future__ import annotations

from boxoffice.app import create_app
from boxoffice.core.settings import Settings


def test_the_create_route_documents_its_token_key_and_answers() -> None:
    operation = create_app(Settings(_env_file=None)).openapi()["paths"]["/orders"]["post"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"Idempotency-Key"}
    assert operation["security"] == [{"HTTPBearer": []}]
    assert {"201", "202", "401", "409", "413", "422", "429"} <= set(operation["responses"])
    assert "409" in operation["responses"]["401"]["description"]
