"""The naive baseline's buyers: each one a plain `client.execute_workflow` from the load
client, awaited to the end, 50 at once (see bench/README.md for why not through HTTP)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from temporalio.api.enums.v1 import EventType

from bench import stripe_check
from bench.catalogue import CARD, create_event
from bench.load import LoadResult, closed_loop, http_client
from bench.naive.messages import NAIVE_ORDER_KEY, TASK_QUEUE, Purchase
from bench.naive.workflow import NaivePurchaseWorkflow

if TYPE_CHECKING:
    from bench.stack import BenchStack


@dataclass
class NaiveRun:
    load: LoadResult
    order_ids: list[str]

    def completed(self) -> int:
        return sum(1 for s in self.load.samples if s.status == 200)


async def run_naive(stack: BenchStack, count: int, concurrency: int, label: str) -> NaiveRun:
    """`count` naive purchases of one seat each, on an event of their own."""
    async with http_client(stack.api_url, 2) as http:
        event = await create_event(http, [count])
    ticket_type_id = str(event["ticket_types"][0]["id"])
    order_ids = [f"naive-{uuid.uuid4()}" for _ in range(count)]

    async def buy(index: int) -> int:
        purchase = Purchase(
            order_id=order_ids[index],
            ticket_type_id=ticket_type_id,
            quantity=1,
            buyer_email="buyer@example.com",
            buyer_name="Bench Buyer",
            payment_method=CARD,
        )
        try:
            done = await stack.temporal.execute_workflow(
                NaivePurchaseWorkflow.run, purchase, id=purchase.order_id, task_queue=TASK_QUEUE
            )
        except Exception:  # a failed run is counted, not raised: the check says so
            return 500
        return 200 if done == "completed" else 500

    load = await closed_loop(label, buy, count, concurrency, stack.options.max_wait_seconds)
    return NaiveRun(load, order_ids[: len(load.samples)])


async def history_shape(stack: BenchStack, workflow_ids: list[str]) -> dict[str, int]:
    """How many events the last of these purchases' history holds, by type (and `all`): what
    the server writes per purchase, for the estimate in bench/README.md ("Beyond this
    machine"). Empty when there was no purchase (the run's checks say why)."""
    if not workflow_ids:
        return {}
    shape: dict[str, int] = {}
    history = await stack.temporal.get_workflow_handle(workflow_ids[-1]).fetch_history()
    for event in history.events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
        shape[name] = shape.get(name, 0) + 1
    shape["all"] = len(history.events)
    return dict(sorted(shape.items()))


def charged_once(stack: BenchStack, order_ids: list[str]) -> bool:
    """Every naive order has exactly one succeeded PaymentIntent at the emulator."""
    paid = stripe_check.succeeded_charges(stack.stripe_base, set(order_ids), NAIVE_ORDER_KEY)
    return all(paid.get(order_id) == 1 for order_id in order_ids)
