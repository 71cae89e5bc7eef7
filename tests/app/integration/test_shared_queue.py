"""One process serving purchases and fulfilment on one task queue (`TASK_QUEUE_FULFILMENT`
set to the purchases queue): one worker serves both, and a paid order completes with its
fulfilment steps scheduled on that queue, where the worker takes them eagerly."""

from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import EventType

from boxoffice.worker import QUEUE_KINDS, build_workers, running
from tests.conftest import Stack, stack_settings
from tests.purchases import create_event, order_body, wait_for_status


async def test_purchases_and_fulfilment_share_one_queue_and_one_worker(stack: Stack) -> None:
    shared, payments = f"shared-{uuid.uuid4().hex[:8]}", f"payments-{uuid.uuid4().hex[:8]}"
    queues = {
        "task_queue_purchases": shared,
        "task_queue_fulfilment": shared,
        "task_queue_payments": payments,
    }
    settings = stack_settings(stack.services, **queues)
    workers = build_workers(stack.temporal, settings, QUEUE_KINDS, stack.sessions)
    assert [w.config()["task_queue"] for w in workers] == [shared, payments]

    async with stack.http() as http:
        event = await create_event(http, capacity=5)
    async with running(workers):
        with stack.other_api(**queues) as api:
            async with api.http() as http:
                created = await http.post("/orders", json=order_body(event, 1, "pm_card_visa"))
                assert created.status_code == 201, created.text
                order = await wait_for_status(http, created.json()["id"], "completed")
    assert len(order["tickets"]) == 1

    history = await stack.temporal.get_workflow_handle(order["id"]).fetch_history()
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name: (
            e.activity_task_scheduled_event_attributes.task_queue.name
        )
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    assert scheduled == {
        "charge_payment": payments,
        "issue_tickets": shared,
        "store_tickets_pdf": shared,
        "email_tickets": shared,
    }
