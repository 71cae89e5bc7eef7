"""Event times: a time that cannot round-trip is refused, no row can break the listing, and
sales end when the event starts unless the organiser says otherwise."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.testing import ActivityEnvironment

from boxoffice.orders.activities.inventory import InventoryActivities
from boxoffice.orders.messages import Buyer, OrderItem, ReserveInput
from tests.conftest import Stack
from tests.purchases import (
    available,
    create_event,
    general,
    order_body,
    wait_for_status,
)


def _event(starts_at: str, **ticket_type: Any) -> dict[str, Any]:
    return {
        "name": f"Odd date {uuid.uuid4().hex[:6]}",
        "venue": "Hall 1",
        "starts_at": starts_at,
        "ticket_types": [
            {"name": "General", "price": 100, "currency": "EUR", "capacity": 5} | ticket_type
        ],
    }


@pytest.mark.parametrize(
    "starts_at",
    [
        "9999-12-31T23:59:59-23:59",  # year 10000 in UTC: stored, then unreadable
        "0001-01-01T00:00:00+23:59",  # year 0 in UTC
        "9999-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        (datetime.now(UTC) + timedelta(days=365 * 20)).isoformat(),
        (datetime.now(UTC) - timedelta(days=800)).isoformat(),
    ],
)
async def test_times_that_cannot_round_trip_or_are_absurd_are_refused(
    stack: Stack, starts_at: str
) -> None:
    async with stack.http() as http:
        refused = await http.post("/events", json=_event(starts_at))
        assert refused.status_code == 422, refused.text
        assert "starts_at" in refused.json()["detail"]
        late_sales = await http.post(
            "/events",
            json=_event(
                (datetime.now(UTC) + timedelta(days=3)).isoformat(), on_sale_until=starts_at
            ),
        )
        assert late_sales.status_code == 422, late_sales.text
        listing = await http.get("/events")
    assert listing.status_code == 200


async def test_a_row_from_before_the_checks_does_not_break_the_listing(stack: Stack) -> None:
    async with stack.http() as http:
        good = await create_event(http)
    bad_id = uuid.uuid4()
    # What the attack left behind before the checks existed: a start Python cannot read.
    async with stack.sessions() as session, session.begin():
        await session.execute(text("ALTER TABLE events DROP CONSTRAINT event_starts_at_readable"))
        await session.execute(
            text(
                "INSERT INTO events (id, name, venue, starts_at, status, refund_cutoff_hours)"
                " VALUES (:id, 'Year 10000', 'Nowhere', '10000-01-01 23:58:59+00',"
                " 'on_sale', 48)"
            ),
            {"id": bad_id},
        )
        await session.execute(
            text(
                "ALTER TABLE events ADD CONSTRAINT event_starts_at_readable CHECK"
                " (starts_at >= '1900-01-01 00:00+00' AND starts_at < '2200-01-01 00:00+00')"
                " NOT VALID"
            )
        )
    async with stack.http(token=None) as anyone:
        listing = await anyone.get("/events")
        assert listing.status_code == 200, listing.text
        ids = {event["id"] for event in listing.json()}
        assert good["id"] in ids and str(bad_id) not in ids
        assert (await anyone.get(f"/events/{bad_id}")).status_code == 404
        assert (await anyone.get(f"/events/{good['id']}")).status_code == 200


async def test_sales_end_when_the_event_starts(stack: Stack) -> None:
    async with stack.http() as http:
        started = await create_event(http, starts_in=timedelta(hours=-1))
        refused = await http.post("/orders", json=order_body(started, 1, "pm_card_visa"))
        assert refused.status_code == 409, refused.text
        assert "ended at" in refused.json()["detail"]
        assert "when the event started" in refused.json()["detail"]
        # Sales at the door: the organiser lets a type sell after the start.
        event = await create_event(
            http,
            starts_in=timedelta(minutes=-30),
            sales_until=datetime.now(UTC) + timedelta(hours=3),
        )
        bought = await http.post("/orders", json=order_body(event, 1, "pm_card_visa"))
        assert bought.status_code == 201, bought.text
        await wait_for_status(http, bought.json()["id"], "completed")


async def test_the_reservation_refuses_a_sale_that_ended_meanwhile(stack: Stack) -> None:
    """The API's check saves a workflow; the reservation's is the one that counts (the start
    may pass between the two)."""
    async with stack.http() as http:
        started = await create_event(http, starts_in=timedelta(seconds=-1))
    inventory = InventoryActivities(stack.sessions)
    answer = await ActivityEnvironment().run(
        inventory.reserve_seats,
        ReserveInput(
            order_id=f"ord_{uuid.uuid4().hex}",
            event_id=started["id"],
            items=[OrderItem(general(started), 1)],
            buyer=Buyer("ada@example.com", "Ada"),
            hold_expires_at=datetime.now(UTC) + timedelta(minutes=15),
        ),
    )
    assert not answer.reserved
    assert answer.reason is not None and "ended at" in answer.reason
    async with stack.http() as http:
        assert await available(http, started["id"], general(started)) == 100
