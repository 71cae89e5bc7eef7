"""Buyer data in Temporal is ciphertext: a purchase on the real stack leaves no buyer email or
name in the stored history, yet completes, replays, and reads in the clear through the codec
endpoint the Temporal UI uses."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from dataclasses import replace
from typing import Any

import httpx
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from boxoffice.core.temporal.encryption.codec import ENCODING
from boxoffice.devstack import processes, services
from boxoffice.devstack.ports import free_port
from boxoffice.orders.client import OrderClient, pipeline_config
from boxoffice.orders.messages import PurchaseInput
from boxoffice.orders.support import SupportService
from boxoffice.orders.workflow.purchase import PurchaseWorkflow
from boxoffice.worker import build_workers, running
from tests.conftest import Stack
from tests.orders.replay.test_replay import HISTORIES, load
from tests.purchases import (
    card_payment_method,
    create_event,
    order_body,
    start_order,
    wait_for_status,
)


def raw_bytes(history: WorkflowHistory) -> bytes:
    """The history as the server stores it: payload data appears here byte for byte."""
    return b"".join(event.SerializeToString() for event in history.events)


def start_input(history: WorkflowHistory) -> Payload:
    first = history.events[0].workflow_execution_started_event_attributes
    payload: Payload = first.input.payloads[0]
    return payload


def as_json(payload: Payload) -> dict[str, Any]:
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
        "data": base64.b64encode(payload.data).decode(),
    }


async def buy(stack: Stack, http: httpx.AsyncClient, email: str, name: str) -> str:
    event = await create_event(http)
    body = order_body(event, 1, "pm_card_visa") | {"buyer": {"email": email, "name": name}}
    created = await http.post("/orders", json=body)
    assert created.status_code == 201, created.text
    order_id: str = created.json()["id"]
    await wait_for_status(http, order_id, "completed")
    return order_id


async def temporal_show(stack: Stack, workflow_id: str, *options: str) -> str:
    """`temporal workflow show --detailed` as an operator runs it: payloads as text."""
    process = await asyncio.create_subprocess_exec(
        processes.find_executable("temporal"),
        *("workflow", "show", "--workflow-id", workflow_id, "--detailed"),
        *services.temporal_cli_args(
            stack.settings.temporal_address, stack.settings.temporal_namespace
        ),
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def temporal_show_decoded(stack: Stack, workflow_id: str) -> str:
    """The same, decoded through the codec endpoint with a support token."""
    return await temporal_show(
        stack,
        workflow_id,
        "--codec-endpoint",
        f"{stack.api_url}/codec",
        "--codec-auth",
        f"Bearer {stack.token('grace', 'support')}",
    )


async def plain_client(stack: Stack) -> Client:
    """A client with the default converter: what anyone reading the server's data sees."""
    return await Client.connect(
        stack.settings.temporal_address, namespace=stack.settings.temporal_namespace
    )


async def test_buyer_data_is_not_in_the_stored_history_but_the_order_completes(
    stack: Stack,
) -> None:
    email = f"cipher-{uuid.uuid4().hex[:8]}@example.com"
    name = f"Secret Buyer {uuid.uuid4().hex[:8]}"
    async with stack.http() as http:
        order_id = await buy(stack, http, email, name)

    handle = (await plain_client(stack)).get_workflow_handle(order_id)
    # The row says completed a moment before the run records the status as a search attribute.
    deadline = time.monotonic() + 30
    while True:
        stored = await handle.fetch_history()
        raw = raw_bytes(stored)
        if b"completed" in raw or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert email.encode() not in raw
    assert name.encode() not in raw
    assert start_input(stored).metadata["encoding"] == ENCODING
    # Search attributes stay readable for the server and the UI's queries.
    assert order_id.encode() in raw
    assert b"completed" in raw
    # The same check finds buyer data in a history recorded in the clear.
    assert b"ada@example.com" in raw_bytes(load(HISTORIES / "paid.json"))

    # Through the system's own client the input reads in the clear...
    decoded = await stack.temporal.data_converter.decode([start_input(stored)], [PurchaseInput])
    assert (decoded[0].buyer.email, decoded[0].buyer.name) == (email, name)
    # ...and the encrypted history replays against today's workflow.
    replayer = Replayer(workflows=[PurchaseWorkflow], data_converter=stack.temporal.data_converter)
    result = await replayer.replay_workflow(stored, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_codec_endpoint_decodes_what_the_workflow_stored(stack: Stack) -> None:
    email = f"codec-{uuid.uuid4().hex[:8]}@example.com"
    async with stack.http() as http:
        order_id = await buy(stack, http, email, "Codec Reader")
        stored = await (await plain_client(stack)).get_workflow_handle(order_id).fetch_history()

        response = await http.post(
            "/codec/decode",
            json={"payloads": [as_json(start_input(stored))]},
            headers={"X-Namespace": stack.settings.temporal_namespace},
        )

    assert response.status_code == 200, response.text
    [payload] = response.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
    assert json.loads(base64.b64decode(payload["data"]))["buyer"]["email"] == email

    # The Temporal CLI reads the history through the same endpoint.
    without = await temporal_show(stack, order_id)
    with_codec = await temporal_show_decoded(stack, order_id)
    assert email not in without
    assert email in with_codec


def failed_activity_failures(history: WorkflowHistory) -> list[Failure]:
    return [
        event.activity_task_failed_event_attributes.failure
        for event in history.events
        if event.HasField("activity_task_failed_event_attributes")
    ]


async def test_failure_messages_are_not_in_the_stored_history(stack: Stack) -> None:
    """A failure's message can quote buyer data, so it is stored encrypted; its type is not."""
    declining = card_payment_method(stack.settings.stripe_api_base, "4000000000000341")
    async with stack.http() as http:
        event = await create_event(http)
        order_id = (await http.post("/orders", json=order_body(event))).json()["id"]
        declined = await http.post(
            f"/orders/{order_id}/payment", json={"payment_method": declining}
        )
    assert declined.status_code == 402, declined.text
    reason = declined.json()["decline_reason"]
    assert "declined" in reason.lower()

    stored = await (await plain_client(stack)).get_workflow_handle(order_id).fetch_history()
    [failure] = failed_activity_failures(stored)
    assert reason.encode() not in raw_bytes(stored)
    assert failure.message == "Encoded failure"
    assert failure.application_failure_info.type == "CardDeclined"
    # The system's own client reads it in the clear.
    copy = Failure()
    copy.CopyFrom(failure)
    decoded = await stack.temporal.data_converter.decode_failure(copy)
    assert isinstance(decoded, ApplicationError)
    assert (decoded.message, decoded.type) == (reason, "CardDeclined")
    # So does an operator with the Temporal CLI and the codec endpoint, and nobody without.
    with_codec = await temporal_show_decoded(stack, order_id)
    assert reason in with_codec
    assert reason not in await temporal_show(stack, order_id)


async def test_support_reads_a_retrying_activity_failure_in_the_clear(stack: Stack) -> None:
    """`boxoffice orders show` quotes the last failure of each pending activity: the server
    holds it encrypted, support's view decodes it."""
    queue = f"payments-{uuid.uuid4().hex[:8]}"
    unreachable = f"http://127.0.0.1:{free_port()}"
    broken = stack.settings.model_copy(
        update={"stripe_api_base": unreachable, "task_queue_payments": queue}
    )
    async with stack.http() as http:
        event = await create_event(http)
    config = replace(pipeline_config(stack.settings), payments_task_queue=queue)
    workers = build_workers(stack.temporal, broken, ["payments"], stack.sessions)
    support = SupportService(
        stack.sessions, OrderClient(stack.temporal, stack.settings), stack.settings
    )
    async with running(workers):
        order_id = await start_order(stack, event, 1, config, payment_method="pm_card_visa")
        deadline = time.monotonic() + 30
        while True:
            pending = (await support.show(order_id)).workflow["pending_activities"]
            if (pending and pending[0]["last_failure"]) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    assert pending, "the charge never failed"
    assert pending[0]["activity"] == "charge_payment"
    assert "Stripe" in pending[0]["last_failure"], pending
    raw = (await stack.temporal.get_workflow_handle(order_id).describe()).raw_description
    assert raw.pending_activities[0].last_failure.message == "Encoded failure"

    # Stripe is back for this queue: the order completes. Its run then ends here, while a
    # worker serves this test's queue: a later refund of it (another test's bulk cancel of
    # completed orders) would otherwise wait forever for a payments worker on that queue.
    restored = stack.settings.model_copy(update={"task_queue_payments": queue})
    healthy = build_workers(stack.temporal, restored, ["payments"], stack.sessions)
    async with running(healthy):
        async with stack.http() as http:
            done = await wait_for_status(http, order_id, "completed", "expired")
        if done["status"] == "completed":
            ended = await support.cancel(order_id, "grace", "test over")
            assert ended.ok, ended
        run = stack.temporal.get_workflow_handle(order_id, result_type=str)
        assert await run.result() in ("refunded", "expired")
