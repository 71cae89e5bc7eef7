"""Scenario 7: cancelling an event with N completed orders (2,000 by default): refunds per
second and the time until the last buyer's email, beside the rate at which the same run's
pipeline completed those orders. The refunds are the orders' own runs (support's cancel path),
so the two rates compare one order's way in with its way out."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import database
from bench.catalogue import create_event, order_body
from bench.load import closed_loop, http_client, per_second
from bench.outcome import Row, ScenarioResult, Series
from bench.scenarios.pipeline import buy_through_api, wait_for_completion
from bench.stack import BenchStack
from bench.stripe_check import refunds_per_order
from boxoffice.devstack.mail_catcher import eml_filename
from boxoffice.events.lifecycle.notices import notice_message_id
from boxoffice.events.lifecycle.workflow import cancellation_workflow_id

NAME = "event_cancel"


def _email_times(mail_dir: Path, message_ids: set[str]) -> list[float]:
    """When each of these messages reached the catcher, from its file name (`<UTC stamp>-<id>`;
    a redelivery is another file, and counts once, at its first arrival)."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    named = {eml_filename(epoch, m).split("-", 1)[1].removesuffix(".eml"): m for m in message_ids}
    first: dict[str, float] = {}
    for path in mail_dir.glob("*.eml"):
        stamp, _, rest = path.name.removesuffix(".eml").partition("-")
        found = named.get(rest) or named.get(rest.rsplit("-", 1)[0])
        if found is not None:
            at = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC).timestamp()
            first[found] = min(first.get(found, at), at)
    return list(first.values())


async def _wait_until_done(stack: BenchStack, event_id: str, within: float) -> str | None:
    deadline = time.monotonic() + within
    async with database.connect(stack.database_url) as conn:
        while time.monotonic() < deadline:
            status = await database.scalar(
                conn, "SELECT status FROM event_cancellations WHERE event_id::text = %s", event_id
            )
            if status == "done":
                return str(status)
            await asyncio.sleep(0.5)
    return None


async def run(stack: BenchStack) -> ScenarioResult:
    options = stack.options
    count, concurrency = options.cancel_orders, options.pipeline_concurrency
    result = ScenarioResult(NAME)
    async with http_client(stack.api_url, concurrency) as http:
        event = await create_event(http, [count])
        body = order_body(event["id"], event["ticket_types"][0]["id"], None)
        order_ids: list[str] = []
        # The purchases are this scenario's setup: at least a second per order, not the
        # usual limit. Late in a full run on Temporal's SQLite file they ran at 3.1/s, and
        # 600 s bought only 1,901 of 2,000 (run 2026-12-04-0031).
        setup_limit = max(options.max_wait_seconds, float(count))
        load = await closed_loop(
            f"purchases to cancel c={concurrency}",
            lambda _i: buy_through_api(http, body, order_ids),
            count,
            concurrency,
            setup_limit,
        )
        completed = await wait_for_completion(stack, order_ids, options.max_wait_seconds)
        first = min(s.start for s in load.samples)
        bought_rate = len(completed) / (max(completed) - first) if completed else 0.0
        cancelled_at = time.time()
        answer = await http.post(
            f"/events/{event['id']}/cancel", {"reason": "bench", "confirm": event["id"]}
        )
    done = await _wait_until_done(stack, event["id"], options.max_wait_seconds)
    async with database.connect(stack.database_url) as conn:
        refunded = await database.finished_at(conn, order_ids, "refunded")
    run_id = cancellation_workflow_id(event["id"])
    emailed = _email_times(stack.tmp / "mail", {notice_message_id(run_id, o) for o in order_ids})
    refund_rate = len(refunded) / (max(refunded) - cancelled_at) if refunded else 0.0
    last_email = max(emailed) - cancelled_at if emailed else float("nan")
    result.rows += [
        Row(
            NAME,
            f"refunds/s, event of {count} completed orders cancelled",
            refund_rate,
            "/s",
            bought_rate,
            note="beside: the same orders' completed purchases/s",
        ),
        Row(NAME, "seconds from the cancel to the last buyer's email", last_email, "s"),
    ]
    result.throughput += [
        Series("cancel: refunds/s", per_second(refunded, cancelled_at)),
        Series("cancel: emails/s", per_second(emailed, cancelled_at)),
    ]
    refunds = refunds_per_order(stack.stripe_base, set(order_ids))
    bought = len(order_ids)
    result.details = {
        "orders": count,
        "bought": bought,
        "completed_before": len(completed),
        "cancel_answer": answer.status,
        "refunded": len(refunded),
        "emails": len(emailed),
        "refunds_per_s": round(refund_rate, 2),
        "purchases_per_s": round(bought_rate, 2),
        "seconds_to_last_email": round(last_email, 1),
    }
    # Correctness is judged on the orders that exist; that they are all the N asked for (the
    # setup finished in time) is a check of its own, so a short setup cannot pass unseen.
    result.checks[f"all {count} orders bought and completed before the cancel"] = (
        bought == count and len(completed) == count
    )
    result.checks["the cancellation finished"] = done == "done"
    result.checks["every order refunded"] = len(refunded) == bought
    result.checks["every order refunded once at Stripe"] = sorted(refunds.values()) == [1] * bought
    result.checks["every buyer emailed"] = len(emailed) == bought
    return result
