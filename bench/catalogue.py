"""Events and order bodies for the scenarios, created through the API like an organiser's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.load import Http

#: Every buyer pays with the emulator's always-succeeding card.
CARD = "pm_card_visa"
#: The API takes at most this many ticket types per event.
MAX_TYPES_PER_EVENT = 50


async def create_event(http: Http, capacities: list[int]) -> dict[str, Any]:
    """One on-sale event a month away with a ticket type per capacity."""
    response = await http.post(
        "/events",
        {
            "name": f"Bench night {uuid.uuid4().hex[:8]}",
            "venue": "Bench Hall",
            "starts_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            "ticket_types": [
                {"name": f"Type {i}", "price": 4500, "currency": "EUR", "capacity": capacity}
                for i, capacity in enumerate(capacities)
            ],
        },
    )
    if response.status != 201:
        raise RuntimeError(f"creating an event answered {response.status}: {response.body}")
    event: dict[str, Any] = response.body
    return event


async def ticket_types(http: Http, count: int, capacity: int) -> list[tuple[str, str]]:
    """`count` ticket types of `capacity` seats, as (event id, ticket type id), over as many
    events as the per-event limit needs."""
    found: list[tuple[str, str]] = []
    while len(found) < count:
        size = min(MAX_TYPES_PER_EVENT, count - len(found))
        event = await create_event(http, [capacity] * size)
        found += [(event["id"], t["id"]) for t in event["ticket_types"]]
    return found


def order_body(event_id: str, ticket_type_id: str, payment_method: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event_id,
        "items": [{"ticket_type_id": ticket_type_id, "quantity": 1}],
        "buyer": {"email": "buyer@example.com", "name": "Bench Buyer"},
    }
    if payment_method:
        body["payment_method"] = payment_method
    return body
