"""Postponing an event on the real stack: the new date is set, sales pause, every buyer is told
once, tickets stay valid, and each order's run learns the new refund deadline (a buyer whose
deadline had passed may cancel again)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Stack
from tests.purchases import create_event, order_body, wait_for_status


async def _told(stack: Stack, subject: str, count: int) -> list[Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [m for m in stack.services.mail.messages if m.subject == subject]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"{count} emails {subject!r} never arrived")


async def _buy(http: httpx.AsyncClient, event: dict[str, Any], n: int, pay: bool) -> str:
    body = order_body(event, 1, "pm_card_visa" if pay else None)
    body["buyer"] = {"email": f"moved{n}@example.com", "name": f"Moved {n}"}
    created = await http.post("/orders", json=body)
    assert created.status_code == 201, created.text
    order_id: str = created.json()["id"]
    return order_id


async def test_postponing_tells_every_buyer_and_moves_their_deadline(stack: Stack) -> None:
    async with stack.http() as http:
        # Three days away with a four-day cutoff: buyers may no longer cancel for a refund.
        event = await create_event(http, starts_in=timedelta(days=3), refund_cutoff_hours=96)
        paid = [await _buy(http, event, n, pay=True) for n in range(3)]
        await _buy(http, event, 3, pay=False)  # held, not paid: told too
        for order_id in paid:
            await wait_for_status(http, order_id, "completed")
        too_late = await http.post(f"/orders/{paid[0]}/cancel", json={"reason": "busy"})
        assert too_late.status_code == 409, too_late.text

        new_start = (datetime.now(UTC) + timedelta(days=60)).replace(microsecond=0)
        body = {"starts_at": new_start.isoformat(), "reason": "The singer is ill."}
        moved = await http.post(
            f"/events/{event['id']}/postpone", json={**body, "refund_cutoff_hours": 48}
        )
        assert moved.status_code == 202, moved.text
        answer = moved.json()
        assert answer["event"]["status"] == "postponed"
        assert datetime.fromisoformat(answer["event"]["starts_at"]) == new_start
        assert datetime.fromisoformat(answer["refund_deadline"]) == new_start - timedelta(hours=48)
        again = await http.post(f"/events/{event['id']}/postpone", json=body)
        assert again.status_code == 409
        assert "already postponed" in again.json()["detail"]
        past = await http.post(
            f"/events/{event['id']}/postpone",
            json={"starts_at": "2026-01-01T20:00:00+00:00", "reason": "x"},
        )
        assert past.status_code == 422

        paused = await http.post("/orders", json=order_body(event, 1))
        assert paused.status_code == 409
        assert "postponed" in paused.json()["detail"]
        notices = await _told(stack, f"New date: {event['name']}", 4)
        # Every order's run learned the new deadline: the buyer may cancel for a refund now.
        refunded = await http.post(f"/orders/{paid[0]}/cancel", json={"reason": "cannot come"})
        assert refunded.status_code == 200, refunded.text
        assert (await wait_for_status(http, paid[0], "refunded"))["status"] == "refunded"
        still = (await http.get(f"/orders/{paid[1]}")).json()
        reopened = await http.patch(f"/events/{event['id']}", json={"status": "on_sale"})
        assert reopened.status_code == 200, reopened.text
        after = await http.post("/orders", json=order_body(event, 1))
        assert after.status_code == 201, after.text
        history = await stack.temporal.get_workflow_handle(paid[1]).fetch_history()

    assert sorted(r for m in notices for r in m.rcpt_tos) == [
        f"moved{n}@example.com" for n in range(4)
    ]
    told = {m.rcpt_tos[0]: m.message.get_body(("plain",)).get_content() for m in notices}
    assert all("The singer is ill." in text for text in told.values())
    assert all("stay valid" in told[f"moved{n}@example.com"] for n in range(3))
    # The held buyer has no tickets yet: told the seats are still theirs to pay for.
    held = told["moved3@example.com"]
    assert "stay valid" not in held and "still held for you" in held
    assert still["status"] == "completed"
    assert {t["status"] for t in still["tickets"]} == {"valid"}
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert signals.count("event_moved") == 1  # beside Stripe's payment news
