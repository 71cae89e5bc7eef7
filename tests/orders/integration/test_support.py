"""Support on the real stack: a stuck order found, retried and cancelled without a database
shell, through the CLI (typer's runner) and the admin API (HTTP)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from dataclasses import replace
from pathlib import Path

import stripe
from sqlalchemy import text
from temporalio.worker import Worker

from boxoffice.core.command_settings import DEV_STACK_FILE
from boxoffice.devstack.ports import free_port
from boxoffice.orders.client import pipeline_config
from boxoffice.worker import build_workers, running
from tests.commands import cli
from tests.conftest import Stack
from tests.purchases import (
    available,
    create_event,
    general,
    order_body,
    start_order,
    wait_for_status,
)


async def _order_with_broken_storage(stack: Stack) -> tuple[str, str, list[Worker]]:
    """An order whose fulfilment queue is served by a worker whose S3 is unreachable."""
    queue = f"fulfilment-{uuid.uuid4().hex[:8]}"
    unreachable = f"http://127.0.0.1:{free_port()}"
    broken = stack.settings.model_copy(
        update={"s3_endpoint_url": unreachable, "task_queue_fulfilment": queue}
    )
    workers = build_workers(stack.temporal, broken, ["fulfilment"], stack.sessions)
    async with stack.http() as http:
        event = await create_event(http)
    config = replace(pipeline_config(stack.settings), fulfilment_task_queue=queue)
    order_id = await start_order(stack, event, 2, config, payment_method="pm_card_visa")
    return order_id, queue, workers


async def test_stuck_order_found_and_retried_with_the_cli(
    stack: Stack, cli_env: dict[str, str]
) -> None:
    order_id, queue, workers = await _order_with_broken_storage(stack)
    async with running(workers):
        async with stack.http() as http:
            stuck = await wait_for_status(http, order_id, "needs_attention")
        assert "store_tickets_pdf" in stuck["last_error"]
        assert len(stuck["tickets"]) == 2  # paid and ticketed: its seats stay held

    listed = await cli(cli_env, "orders", "list", "--status", "needs_attention", "--json")
    assert listed.exit_code == 0, listed.output
    found = {o["id"]: o for o in json.loads(listed.output)}
    assert order_id in found
    assert found[order_id]["temporal_url"].endswith(f"/workflows/{order_id}")
    assert "store_tickets_pdf" in found[order_id]["last_error"]

    shown = await cli(cli_env, "orders", "show", order_id)
    assert shown.exit_code == 0, shown.output
    assert "needs_attention" in shown.output and "step: store_tickets_pdf" in shown.output

    no_reason = await cli(cli_env, "orders", "retry", order_id)
    assert no_reason.exit_code == 2
    assert "reason is required" in no_reason.output
    unknown = await cli(cli_env, "orders", "retry", "ord_nope", "--reason", "x")
    assert unknown.exit_code == 3

    # S3 is back: a healthy fulfilment worker serves the order's queue.
    restored = stack.settings.model_copy(update={"task_queue_fulfilment": queue})
    healthy = build_workers(stack.temporal, restored, ["fulfilment"], stack.sessions)
    async with running(healthy):
        retried = await cli(cli_env, "orders", "retry", order_id, "--reason", "S3 restored")
        assert retried.exit_code == 0, retried.output
        async with stack.http() as http:
            done = await wait_for_status(http, order_id, "completed")
        assert done["last_error"] is None

    again = await cli(cli_env, "orders", "retry", order_id, "--reason", "once more")
    assert again.exit_code == 1
    assert "needs attention" in again.output
    async with stack.sessions() as session:
        emails = await session.scalar(
            text("SELECT count(DISTINCT message_id) FROM emails WHERE order_id = :o"),
            {"o": order_id},
        )
        audit = (
            await session.execute(
                text(
                    "SELECT actor, action, reason, outcome FROM audit_log WHERE order_id = :o"
                    " ORDER BY id"
                ),
                {"o": order_id},
            )
        ).all()
    assert emails == 1
    assert [(a.actor, a.action, a.reason) for a in audit] == [
        ("grace@support", "retry", "S3 restored"),
        ("grace@support", "retry", "once more"),
    ]
    assert audit[0].outcome.startswith("done") and audit[1].outcome.startswith("refused")
    history = await stack.temporal.get_workflow_handle(order_id).fetch_history()
    updates = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert "support_retry" in updates  # the run's history shows the action

    # The order's run ends here, while a worker serves this test's fulfilment queue: left
    # open, a later refund of it (another test's bulk cancel of completed orders) would wait
    # forever for a worker to void its tickets.
    healthy = build_workers(stack.temporal, restored, ["fulfilment"], stack.sessions)
    async with running(healthy):
        ended = await cli(cli_env, "orders", "refund", order_id, "--reason", "test over")
        assert ended.exit_code == 0, ended.output
        run = stack.temporal.get_workflow_handle(order_id, result_type=str)
        assert await run.result() == "refunded"


async def test_concurrent_support_cancels_refund_once(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=10)
        order = (await http.post("/orders", json=order_body(event, 2, "pm_card_visa"))).json()
        await wait_for_status(http, order["id"], "completed")
        body = {"reason": "event moved"}
        first, second = await asyncio.gather(
            http.post(f"/admin/orders/{order['id']}/cancel", json=body),
            http.post(f"/admin/orders/{order['id']}/cancel", json=body),
        )
        assert {first.status_code, second.status_code} <= {200, 409}, (first.text, second.text)
        assert 200 in (first.status_code, second.status_code)
        final = (await http.get(f"/orders/{order['id']}")).json()
        assert final["status"] == "refunded"
        assert {t["status"] for t in final["tickets"]} == {"void"}
        assert await available(http, event["id"], general(event)) == 10
        detail = (await http.get(f"/admin/orders/{order['id']}")).json()
    assert len(detail["audit"]) == 2
    assert all(a["outcome"] for a in detail["audit"])
    # The actor is whoever the token names, not what a body claims.
    assert {a["actor"] for a in detail["audit"]} == {"test-staff"}
    (payment,) = detail["payments"]
    client = stripe.StripeClient(
        "sk_test_x", base_addresses={"api": stack.settings.stripe_api_base}
    )
    refunds = client.v1.refunds.list(params={"payment_intent": payment["payment_intent_id"]})
    assert len(refunds.data) == 1


async def test_resend_and_refund_through_the_admin_api(stack: Stack) -> None:
    async with stack.http() as http:
        event = await create_event(http, capacity=10)
        order = (await http.post("/orders", json=order_body(event, 1, "pm_card_visa"))).json()
        # Asked as soon as the row says completed: the run may still be finishing the email
        # step, and then the resend waits for it rather than being refused.
        await wait_for_status(http, order["id"], "completed")
        resent = await http.post(
            f"/admin/orders/{order['id']}/resend", json={"to": "other@example.com"}
        )
        assert resent.status_code == 200, resent.text
        assert ".resend1@boxoffice>" in resent.json()["detail"]

        missing_reason = await http.post(
            f"/admin/orders/{order['id']}/refund", json={"reason": " "}
        )
        assert missing_reason.status_code == 422
        unknown = await http.post("/admin/orders/ord_unknown/refund", json={"reason": "x"})
        assert unknown.status_code == 404
        refunded = await http.post(
            f"/admin/orders/{order['id']}/refund",
            json={"reason": "buyer is ill"},
        )
        assert refunded.status_code == 200, refunded.text
        assert refunded.json()["status"] == "refunded"
        twice = await http.post(f"/admin/orders/{order['id']}/refund", json={"reason": "again"})
        assert twice.status_code == 409
    ids = {
        m.message_id
        for m in stack.services.mail.messages
        if m.message_id and order["id"] in m.message_id
    }
    assert ids == {
        f"<tickets.{order['id']}@boxoffice>",
        f"<tickets.{order['id']}.resend1@boxoffice>",
    }
    async with stack.sessions() as session:
        kinds = (
            await session.execute(
                text("SELECT kind, recipient FROM emails WHERE order_id = :o ORDER BY kind"),
                {"o": order["id"]},
            )
        ).all()
    assert [tuple(k) for k in kinds] == [
        ("resend", "other@example.com"),
        ("tickets", "ada@example.com"),
    ]


async def test_extend_hold_with_the_cli(stack: Stack, cli_env: dict[str, str]) -> None:
    async with stack.http() as http:
        event = await create_event(http)
        order = (await http.post("/orders", json=order_body(event, 1))).json()
    extended = await cli(
        cli_env, "orders", "extend", order["id"], "--minutes", "10", "--reason", "on the phone"
    )
    assert extended.exit_code == 0, extended.output
    too_long = await cli(
        cli_env, "orders", "extend", order["id"], "--minutes", "600", "--reason", "x"
    )
    assert too_long.exit_code == 1
    async with stack.http() as http:
        after = (await http.get(f"/orders/{order['id']}")).json()
        assert after["hold_expires_at"] > order["hold_expires_at"]
        bulk = await http.post(
            "/admin/orders/bulk/cancel",
            json={"reason": "incident 42", "event_id": event["id"]},
        )
        assert bulk.status_code == 200, bulk.text
        assert [o["order_id"] for o in bulk.json()] == [order["id"]]
        assert (await http.get(f"/orders/{order['id']}")).json()["status"] == "cancelled"
    unfiltered = await cli(cli_env, "orders", "cancel", "--reason", "x", "--yes")
    assert unfiltered.exit_code == 2


async def test_the_cli_finds_a_running_dev_stack_and_says_what_is_missing(
    stack: Stack, tmp_path: Path
) -> None:
    """In a second terminal beside `make dev`, `boxoffice orders list` works with nothing set:
    the stack wrote where its parts are into its data directory. Without one, a missing
    setting is one line and exit 2, not a traceback."""
    lonely = {"DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    missing = await cli(lonely, "orders", "list")
    assert missing.exit_code == 2, missing.output
    assert "DATABASE_URL is not set" in missing.output
    assert "Traceback" not in missing.output
    (tmp_path / DEV_STACK_FILE).write_text(
        f"# pid {os.getpid()}\n"
        f"DATABASE_URL={stack.settings.database_url}\n"
        f"TEMPORAL_ADDRESS={stack.settings.temporal_address}\n"
    )
    # The payload key lives in the stack's data directory; the test's is elsewhere.
    shutil.copy(stack.settings.data_dir / "payload-encryption-key", tmp_path)
    found = await cli({"DATA_DIR": str(tmp_path)}, "orders", "list", "--limit", "3")
    assert found.exit_code == 0, found.output
    assert "orders" in found.output or "no orders match" in found.output
    # A file left by a stack that is gone is not trusted.
    (tmp_path / DEV_STACK_FILE).write_text(
        f"# pid 999999999\nDATABASE_URL={stack.settings.database_url}\n"
    )
    stale = await cli({"DATA_DIR": str(tmp_path), "DATABASE_URL": ""}, "orders", "list")
    assert stale.exit_code == 2, stale.output
