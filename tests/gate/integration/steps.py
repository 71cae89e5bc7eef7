"""What the gate's integration tests share: a completed order to scan, and the API's answers
to a scan and to an offline gate's upload."""

from __future__ import annotations

from typing import Any

import httpx

from tests.purchases import create_event, order_body, wait_for_status


async def bought(
    http: httpx.AsyncClient, quantity: int = 1
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new event and a completed order for `quantity` General tickets of it."""
    event = await create_event(http)
    created = await http.post("/orders", json=order_body(event, quantity, "pm_card_visa"))
    assert created.status_code == 201, created.text
    order = await wait_for_status(http, created.json()["id"], "completed")
    assert len(order["tickets"]) == quantity
    return event, order


async def validate(http: httpx.AsyncClient, code: str, **extra: Any) -> dict[str, Any]:
    response = await http.post("/tickets/validate", json={"code": code, **extra})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def upload(http: httpx.AsyncClient, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(f"/events/{event_id}/scans", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer
