"""What the integration tests do over and over: create an event, buy, wait for a status."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import stripe
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from boxoffice.orders.messages import (
    Buyer,
    OrderItem,
    PipelineConfig,
    PurchaseInput,
    ReservationAnswer,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

if TYPE_CHECKING:
    from tests.conftest import Stack


async def create_event(
    http: httpx.AsyncClient,
    *,
    capacity: int = 100,
    price: int = 4500,
    starts_in: timedelta = timedelta(days=30),
    refund_cutoff_hours: int = 48,
    sales_until: datetime | None = None,
) -> dict[str, Any]:
    """An event with General (`capacity`) and VIP (5) tickets; `sales_until` lets them sell
    past the start (at the door)."""
    until = {"on_sale_until": sales_until.isoformat()} if sales_until else {}
    response = await http.post(
        "/events",
        json={
            "name": f"Test night {uuid.uuid4().hex[:8]}",
            "venue": "Hall 1",
            "starts_at": (datetime.now(UTC) + starts_in).isoformat(),
            "refund_cutoff_hours": refund_cutoff_hours,
            "ticket_types": [
                {
                    "name": "General",
                    "price": price,
                    "currency": "EUR",
                    "capacity": capacity,
                    **until,
                },
                {"name": "VIP", "price": price * 3, "currency": "EUR", "capacity": 5, **until},
            ],
        },
    )
    assert response.status_code == 201, response.text
    event: dict[str, Any] = response.json()
    return event


def general(event: dict[str, Any]) -> str:
    ticket_id: str = next(t["id"] for t in event["ticket_types"] if t["name"] == "General")
    return ticket_id


def order_body(
    event: dict[str, Any], quantity: int = 1, payment_method: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event["id"],
        "items": [{"ticket_type_id": general(event), "quantity": quantity}],
        "buyer": {"email": "ada@example.com", "name": "Ada Lovelace"},
    }
    if payment_method:
        body["payment_method"] = payment_method
    return body


async def wait_for_status(
    http: httpx.AsyncClient, order_id: str, *statuses: str, within: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await http.get(f"/orders/{order_id}")
        if response.status_code == 200:
            last = response.json()
            if last["status"] in statuses:
                return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"order {order_id} never reached {statuses}; last seen {last}")


async def available(http: httpx.AsyncClient, event_id: str, ticket_type_id: str) -> int:
    event = (await http.get(f"/events/{event_id}")).json()
    seats: int = next(t["available"] for t in event["ticket_types"] if t["id"] == ticket_type_id)
    return seats


def card_payment_method(stripe_base: str | None, number: str) -> str:
    """A PaymentMethod for one of Stripe's test cards (e.g. 4000000000000341 declines)."""
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": stripe_base})
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123"},
        }
    )
    return str(method.id)


async def start_order(
    stack: Stack,
    event: dict[str, Any],
    quantity: int,
    config: PipelineConfig,
    payment_method: str | None = None,
) -> str:
    """Start an order the way the API does (update-with-start), but with a pipeline config of
    the test's own (a short hold, another task queue); returns its id once seats are held."""
    order_id = f"ord_{uuid.uuid4().hex}"
    answer: ReservationAnswer = await stack.temporal.execute_update_with_start_workflow(
        "reservation",
        start_workflow_operation=WithStartWorkflowOperation(
            PurchaseWorkflow.run,
            PurchaseInput(
                order_id,
                event["id"],
                [OrderItem(general(event), quantity)],
                Buyer("bob@example.com", "Bob"),
                payment_method=payment_method,
                config=config,
            ),
            id=order_id,
            task_queue=stack.settings.task_queue_purchases,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        ),
        id="reservation",
        result_type=ReservationAnswer,
    )
    assert answer.status == "reserved", answer
    return order_id
