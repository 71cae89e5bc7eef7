"""An organiser changing an event on the real stack: drafts, status arrows, edits with their
audit trail, bad input that writes nothing, sales windows, and a capacity cut racing buyers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from boxoffice.core.database.models import AuditEntry, Hold, TicketType
from tests.conftest import Stack
from tests.purchases import create_event, general, order_body, wait_for_status


def _event_body(**extra: Any) -> dict[str, Any]:
    return {
        "name": f"Draft night {uuid.uuid4().hex[:8]}",
        "venue": "Hall 2",
        "starts_at": (datetime.now(UTC) + timedelta(days=40)).isoformat(),
        "ticket_types": [{"name": "General", "price": 3000, "currency": "EUR", "capacity": 50}],
        **extra,
    }


async def _audit(stack: Stack, event_id: str) -> list[AuditEntry]:
    async with stack.sessions() as session:
        rows = await session.execute(
            select(AuditEntry)
            .where(AuditEntry.event_id == uuid.UUID(event_id))
            .order_by(AuditEntry.id)
        )
        return list(rows.scalars())


async def test_a_draft_is_hidden_until_its_sales_open(stack: Stack) -> None:
    async with stack.http() as admin, stack.http(token=None) as buyer:
        created = await admin.post("/events", json=_event_body(status="draft"))
        assert created.status_code == 201, created.text
        draft = created.json()
        assert draft["status"] == "draft"

        assert (await buyer.get(f"/events/{draft['id']}")).status_code == 404
        listed = [e["id"] for e in (await buyer.get("/events", params={"limit": 200})).json()]
        assert draft["id"] not in listed
        refused = await buyer.post("/orders", json=order_body(draft, 1))
        assert refused.status_code == 404, refused.text
        assert (await admin.get(f"/admin/events/{draft['id']}")).json()["status"] == "draft"

        opened = await admin.patch(f"/events/{draft['id']}", json={"status": "on_sale"})
        assert opened.status_code == 200, opened.text
        assert (await buyer.get(f"/events/{draft['id']}")).status_code == 200
        bought = await buyer.post("/orders", json=order_body(draft, 1))
        assert bought.status_code == 201, bought.text

    entries = await _audit(stack, draft["id"])
    assert [e.action for e in entries] == ["event.create", "event.update"]
    assert entries[1].actor == "test-staff"
    assert entries[1].changes == {"status": ["draft", "on_sale"]}


async def test_status_moves_only_along_its_arrows(stack: Stack) -> None:
    async with stack.http() as admin:
        event = (await admin.post("/events", json=_event_body())).json()
        url = f"/events/{event['id']}"
        back_to_draft = await admin.patch(url, json={"status": "draft"})
        assert back_to_draft.status_code == 422, back_to_draft.text
        cancelled = await admin.patch(url, json={"status": "cancelled"})
        assert cancelled.status_code == 422, cancelled.text
        closed = await admin.patch(url, json={"status": "sales_closed"})
        assert closed.json()["status"] == "sales_closed"
        async with stack.http(token=None) as buyer:
            refused = await buyer.post("/orders", json=order_body(event, 1))
        assert refused.status_code == 409
        assert "not on sale (sales closed)" in refused.json()["detail"]
        over = await admin.patch(url, json={"status": "over"})
        assert over.json()["status"] == "over"
        reopened = await admin.patch(url, json={"status": "on_sale"})
        assert reopened.status_code == 409
        assert "over" in reopened.json()["detail"]


async def test_only_a_draft_without_orders_is_deleted(stack: Stack) -> None:
    async with stack.http() as admin:
        draft = (await admin.post("/events", json=_event_body(status="draft"))).json()
        on_sale = (await admin.post("/events", json=_event_body())).json()

        deleted = await admin.delete(f"/events/{draft['id']}")
        assert deleted.status_code == 204
        assert (await admin.get(f"/admin/events/{draft['id']}")).status_code == 404
        kept = await admin.delete(f"/events/{on_sale['id']}")
        assert kept.status_code == 409
        assert "Only a draft can be deleted" in kept.json()["detail"]
        assert (await admin.get(f"/admin/events/{on_sale['id']}")).status_code == 200
        unknown = await admin.delete(f"/events/{uuid.uuid4()}")
        assert unknown.status_code == 404


async def test_bad_patches_are_refused_and_write_nothing(stack: Stack) -> None:
    async with stack.http() as admin:
        event = await create_event(admin)
        url = f"/events/{event['id']}"
        type_url = f"{url}/ticket-types/{general(event)}"
        starts = datetime.fromisoformat(event["starts_at"])
        bad: list[tuple[str, dict[str, Any], int, str]] = [
            (url, {"colour": "red"}, 422, "colour"),
            (url, {"name": None}, 422, "may not be null"),
            (url, {"ends_at": (starts - timedelta(hours=1)).isoformat()}, 422, "after starts_at"),
            (url, {"refund_cutoff_hours": -1}, 422, "refund_cutoff_hours"),
            (type_url, {"capacity": -5}, 422, "capacity"),
            (type_url, {"price": "12"}, 422, "price: must be a JSON number"),
            (type_url, {"hidden": 1}, 422, "hidden: Input should be a valid boolean"),
            (
                type_url,
                {
                    "on_sale_from": (starts - timedelta(days=1)).isoformat(),
                    "on_sale_until": (starts - timedelta(days=2)).isoformat(),
                },
                422,
                "close after it opens",
            ),
        ]
        for target, patch, status, words in bad:
            answer = await admin.patch(target, json=patch)
            assert answer.status_code == status, (patch, answer.text)
            assert words in answer.json()["detail"], (patch, answer.text)
        after = (await admin.get(f"/admin/events/{event['id']}")).json()
    before = {k: v for k, v in event.items() if k != "addons"}
    assert {k: v for k, v in after.items() if k in before} == before
    assert [e.action for e in await _audit(stack, event["id"])] == ["event.create"]


async def test_a_new_price_is_for_new_orders_only(stack: Stack) -> None:
    async with stack.http() as admin:
        event = await create_event(admin, price=4500)
        first = (await admin.post("/orders", json=order_body(event, 2, "pm_card_visa"))).json()
        await wait_for_status(admin, first["id"], "completed")
        raised = await admin.patch(
            f"/events/{event['id']}/ticket-types/{general(event)}", json={"price": 6000}
        )
        assert raised.status_code == 200, raised.text
        second = (await admin.post("/orders", json=order_body(event, 2, "pm_card_visa"))).json()
        first_now = await wait_for_status(admin, first["id"], "completed")
        second_now = await wait_for_status(admin, second["id"], "completed")
    assert first_now["total"] == {"amount": 9000, "currency": "EUR"}
    assert first_now["items"][0]["unit_price"] == 4500
    assert second_now["total"] == {"amount": 12000, "currency": "EUR"}
    (change,) = [e for e in await _audit(stack, event["id"]) if e.action == "ticket_type.update"]
    assert change.changes == {"ticket_type": general(event), "price": [4500, 6000]}


async def test_currency_and_capacity_changes_respect_the_orders(stack: Stack) -> None:
    async with stack.http() as admin:
        event = await create_event(admin, capacity=10)
        type_url = f"/events/{event['id']}/ticket-types/{general(event)}"
        order = (await admin.post("/orders", json=order_body(event, 3, "pm_card_visa"))).json()
        held = (await admin.post("/orders", json=order_body(event, 2))).json()
        await wait_for_status(admin, order["id"], "completed")
        await wait_for_status(admin, held["id"], "reserved")

        currency = await admin.patch(type_url, json={"currency": "USD"})
        assert currency.status_code == 409
        assert "currency cannot change" in currency.json()["detail"]
        too_small = await admin.patch(type_url, json={"capacity": 4})
        assert too_small.status_code == 409
        assert "5 tickets are sold or held" in too_small.json()["detail"]
        exact = await admin.patch(type_url, json={"capacity": 5})
        assert exact.status_code == 200, exact.text
        general_now = next(t for t in exact.json()["ticket_types"] if t["id"] == general(event))
        assert (general_now["capacity"], general_now["available"]) == (5, 0)
        raised = await admin.patch(type_url, json={"capacity": 25})
        general_now = next(t for t in raised.json()["ticket_types"] if t["id"] == general(event))
        assert (general_now["capacity"], general_now["available"]) == (25, 20)


async def test_sales_windows_refuse_orders_before_and_after(stack: Stack) -> None:
    async with stack.http() as admin, stack.http(token=None) as buyer:
        event = await create_event(admin)
        type_url = f"/events/{event['id']}/ticket-types/{general(event)}"
        opens = datetime.now(UTC) + timedelta(days=2)
        later = await admin.patch(type_url, json={"on_sale_from": opens.isoformat()})
        assert later.status_code == 200, later.text
        early = await buyer.post("/orders", json=order_body(event, 1))
        assert early.status_code == 409
        assert "Sales of General open at" in early.json()["detail"]

        ended = datetime.now(UTC) - timedelta(minutes=1)
        window = {"on_sale_from": None, "on_sale_until": ended.isoformat()}
        closed = await admin.patch(type_url, json=window)
        assert closed.status_code == 200, closed.text
        late = await buyer.post("/orders", json=order_body(event, 1))
        assert late.status_code == 409
        assert "Sales of General ended at" in late.json()["detail"]

        hidden = await admin.patch(type_url, json={"on_sale_until": None, "hidden": True})
        assert hidden.status_code == 200, hidden.text
        public = (await buyer.get(f"/events/{event['id']}")).json()
        assert general(event) not in [t["id"] for t in public["ticket_types"]]
        refused = await buyer.post("/orders", json=order_body(event, 1))
        assert refused.status_code == 409
        assert "General is not on sale" in refused.json()["detail"]


async def test_a_type_added_later_sells_and_names_stay_unique(stack: Stack) -> None:
    async with stack.http() as admin:
        event = await create_event(admin)
        body = {"name": "Balcony", "price": 2000, "currency": "EUR", "capacity": 3}
        added = await admin.post(f"/events/{event['id']}/ticket-types", json=body)
        assert added.status_code == 201, added.text
        again = await admin.post(f"/events/{event['id']}/ticket-types", json=body)
        assert again.status_code == 409
        renamed = await admin.patch(
            f"/events/{event['id']}/ticket-types/{general(event)}", json={"name": "Balcony"}
        )
        assert renamed.status_code == 409
        balcony = next(t for t in added.json()["ticket_types"] if t["name"] == "Balcony")
        order = {
            **order_body(event, 1, "pm_card_visa"),
            "items": [{"ticket_type_id": balcony["id"], "quantity": 3}],
        }
        bought = await admin.post("/orders", json=order)
        assert bought.status_code == 201, bought.text
        done = await wait_for_status(admin, bought.json()["id"], "completed")
    assert done["total"]["amount"] == 6000


async def _buy_one(buyer: httpx.AsyncClient, event: dict[str, Any]) -> int:
    return (await buyer.post("/orders", json=order_body(event, 1))).status_code


async def test_a_capacity_cut_racing_a_hundred_buyers_never_oversells(stack: Stack) -> None:
    """While 100 buyers reserve one seat each, the organiser cuts capacity from 100 to 60: the
    cut applies only while the seats left cover it, so whatever the interleaving no more are
    held than the capacity that results, and `available` never goes below zero."""
    async with stack.http() as admin, stack.http(token=None) as buyer:
        event = await create_event(admin, capacity=100)
        type_url = f"/events/{event['id']}/ticket-types/{general(event)}"

        async def cut() -> list[int]:
            answers = []
            for _ in range(20):
                answers.append((await admin.patch(type_url, json={"capacity": 60})).status_code)
                await asyncio.sleep(0.01)
            return answers

        cuts, statuses = await asyncio.gather(
            cut(), asyncio.gather(*(_buy_one(buyer, event) for _ in range(100)))
        )
    assert set(cuts) <= {200, 409}
    assert set(statuses) <= {201, 409}, statuses
    async with stack.sessions() as session:
        tt = await session.get(TicketType, uuid.UUID(general(event)))
        assert tt is not None
        holds = (
            await session.execute(
                select(Hold.quantity).where(
                    Hold.ticket_type_id == tt.id, Hold.released_at.is_(None)
                )
            )
        ).scalars()
        held = sum(holds)
    assert tt.available >= 0
    assert held == tt.capacity - tt.available
    assert held <= tt.capacity
    assert held == statuses.count(201)
    if 200 in cuts:
        assert tt.capacity == 60
        assert held <= 60
    else:
        assert tt.capacity == 100
