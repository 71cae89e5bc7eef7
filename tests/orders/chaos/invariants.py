"""What must hold after any fault, read from every system the orders touched.

Each check returns violations as sentences; an empty list is the only passing answer.
- Seats, per ticket type: available + held + sold == capacity, none negative, and no seat kept
  by an order that has ended without being sold.
- Tickets: a completed order has one valid ticket per seat, a refunded one none, an order never
  paid none at all; each completed order has one tickets PDF in S3 and one distinct tickets
  Message-ID (sent at least once).
- Money (the Stripe emulator's own records, read through the Stripe API): per order at most one
  succeeded PaymentIntent, and a net charge of 0 or the full total, matching its status.
- Workflows: none failed, terminated or timed out, none stuck on a failing workflow task, and
  none still running whose order has ended (a completed order's run stays open by design)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import stripe
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client

from boxoffice.devstack.services import MailCatcher
from boxoffice.orders.activities.email import tickets_message_id
from boxoffice.orders.domain import FINAL as FINAL_STATUSES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

HELD = ("pending", "reserved", "paying")
SOLD = ("paid", "completed", "needs_attention")
#: Where every order must be once a scenario has played out (support fixed the stuck ones).
SETTLED = frozenset(FINAL_STATUSES | {"completed"})
_BAD_RUNS = {
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED: "failed",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED: "terminated",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT: "timed out",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED: "cancelled",
}
_RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
#: How long a run whose order has ended may take to close.
CLOSE_SECONDS = 30.0


@dataclass
class World:
    """Handles on everything an order leaves a trace in."""

    sessions: async_sessionmaker[AsyncSession]
    stripe: stripe.StripeClient
    s3: S3Client
    bucket: str
    mail: MailCatcher
    temporal: Client


@dataclass
class OrderRow:
    id: str
    status: str
    total: int
    seats: int
    valid: int
    issued: int
    emails: int


async def check_all(world: World, event_ids: Sequence[str], *, settled: bool = True) -> list[str]:
    """Every invariant over the orders of `event_ids`. `settled`: every order must have ended
    (or be completed); otherwise orders still in their hold or stuck are allowed."""
    orders = await load_orders(world.sessions, event_ids)
    violations = await seat_violations(world.sessions, event_ids)
    violations += ticket_violations(orders)
    violations += await document_violations(world, orders)
    violations += await money_violations(world.stripe, orders)
    violations += await workflow_violations(world.temporal, orders)
    if settled:
        violations += [
            f"order {o.id} was left {o.status}" for o in orders.values() if o.status not in SETTLED
        ]
    return violations


async def load_orders(
    sessions: async_sessionmaker[AsyncSession], event_ids: Sequence[str]
) -> dict[str, OrderRow]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT o.id, o.status, o.total_amount,"
                " (SELECT COALESCE(SUM(quantity), 0) FROM holds h WHERE h.order_id = o.id),"
                " (SELECT COUNT(*) FROM tickets t WHERE t.order_id = o.id"
                "   AND t.status = 'valid'),"
                " (SELECT COUNT(*) FROM tickets t WHERE t.order_id = o.id),"
                " (SELECT COUNT(*) FROM emails e WHERE e.order_id = o.id AND e.kind = 'tickets')"
                " FROM orders o WHERE o.event_id = ANY(CAST(:events AS uuid[]))"
            ),
            {"events": list(event_ids)},
        )
        return {row[0]: OrderRow(*row) for row in rows.all()}


async def seat_violations(
    sessions: async_sessionmaker[AsyncSession], event_ids: Sequence[str]
) -> list[str]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT tt.name, tt.capacity, tt.available,"
                " COALESCE(SUM(h.quantity) FILTER (WHERE h.released_at IS NULL"
                "   AND o.status = ANY(:held)), 0),"
                " COALESCE(SUM(h.quantity) FILTER (WHERE h.released_at IS NULL"
                "   AND o.status = ANY(:sold)), 0),"
                " COALESCE(SUM(h.quantity) FILTER (WHERE h.released_at IS NULL"
                "   AND NOT o.status = ANY(:held) AND NOT o.status = ANY(:sold)), 0),"
                " COUNT(h.order_id) FILTER (WHERE h.released_at IS NOT NULL"
                "   AND o.status = ANY(:sold))"
                " FROM ticket_types tt"
                " LEFT JOIN holds h ON h.ticket_type_id = tt.id"
                " LEFT JOIN orders o ON o.id = h.order_id"
                " WHERE tt.event_id = ANY(CAST(:events AS uuid[]))"
                " GROUP BY tt.id, tt.name, tt.capacity, tt.available"
            ),
            {"events": list(event_ids), "held": list(HELD), "sold": list(SOLD)},
        )
        found = rows.all()
    violations = []
    for name, capacity, available, held, sold, stranded, released_sold in found:
        if available < 0 or held < 0 or sold < 0:
            violations.append(f"{name}: negative seats ({available}/{held}/{sold})")
        if available + held + sold != capacity:
            violations.append(
                f"{name}: available {available} + held {held} + sold {sold} != capacity {capacity}"
            )
        if stranded:
            violations.append(f"{name}: {stranded} seats still held by orders that have ended")
        if released_sold:
            violations.append(f"{name}: {released_sold} holds released of orders still sold")
    return violations


def ticket_violations(orders: dict[str, OrderRow]) -> list[str]:
    violations = []
    for o in orders.values():
        if o.status == "completed" and o.valid != o.seats:
            violations.append(f"order {o.id} completed with {o.valid} valid of {o.seats} tickets")
        if o.status == "completed" and o.emails != 1:
            violations.append(f"order {o.id} completed with {o.emails} tickets email records")
        if o.status in SOLD and o.valid > o.seats:
            violations.append(f"order {o.id} has {o.valid} valid tickets for {o.seats} seats")
        if o.status not in SOLD and o.valid:
            violations.append(f"order {o.id} is {o.status} but has {o.valid} valid tickets")
        if o.status in FINAL_STATUSES - {"refunded"} and o.issued:
            violations.append(f"order {o.id} was never paid but has {o.issued} tickets")
    return violations


async def document_violations(world: World, orders: dict[str, OrderRow]) -> list[str]:
    completed = [o.id for o in orders.values() if o.status == "completed"]
    if not completed:
        return []
    keys = await asyncio.to_thread(_list_keys, world.s3, world.bucket, "orders/")
    pdfs: dict[str, int] = defaultdict(int)
    for key in keys:
        pdfs[key.split("/")[1]] += 1
    sent: dict[str, set[str]] = defaultdict(set)
    for message in world.mail.messages:
        mid = message.message_id or ""
        if mid.startswith("<tickets.") and ".resend" not in mid:
            sent[mid.removeprefix("<tickets.").split("@")[0]].add(mid)
    violations = []
    for order_id in completed:
        if pdfs[order_id] != 1:
            violations.append(f"order {order_id} completed with {pdfs[order_id]} PDFs in S3")
        if sent[order_id] != {tickets_message_id(order_id)}:
            violations.append(
                f"order {order_id} completed with tickets Message-IDs {sorted(sent[order_id])}"
            )
    return violations


def _list_keys(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


async def money_violations(client: stripe.StripeClient, orders: dict[str, OrderRow]) -> list[str]:
    intents = await asyncio.to_thread(intents_by_order, client, set(orders))
    violations = []
    for order_id, order in orders.items():
        succeeded = [pi for pi in intents.get(order_id, []) if pi["status"] == "succeeded"]
        if len(succeeded) > 1:
            violations.append(f"order {order_id} has {len(succeeded)} succeeded PaymentIntents")
        charged = sum(int(pi["amount"]) for pi in succeeded)
        refunded = sum(
            await asyncio.gather(*(asyncio.to_thread(_refunded, client, pi) for pi in succeeded))
        )
        net = charged - refunded
        # A charge being decided may have gone through at Stripe before the order knows it.
        allowed = {order.total} if order.status in SOLD else {0}
        if order.status == "paying":
            allowed.add(order.total)
        if net not in allowed:
            violations.append(f"order {order_id} ({order.status}) has a net charge of {net}")
    return violations


def intents_by_order(client: stripe.StripeClient, wanted: set[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    page = client.v1.payment_intents.list(params={"limit": 100})
    for intent in page.auto_paging_iter():
        order_id = intent.metadata.to_dict().get("order_id")
        if order_id in wanted:
            found[order_id].append(intent)
    return found


def _refunded(client: stripe.StripeClient, intent: Any) -> int:
    refunds = client.v1.refunds.list(params={"payment_intent": intent.id, "limit": 100})
    return sum(int(r.amount) for r in refunds.data if r.status in ("succeeded", "pending"))


async def workflow_violations(client: Client, orders: dict[str, OrderRow]) -> list[str]:
    gate = asyncio.Semaphore(20)

    async def one(order: OrderRow) -> str | None:
        async with gate:
            described = await client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=client.namespace, execution=WorkflowExecution(workflow_id=order.id)
                )
            )
        status = described.workflow_execution_info.status
        if status in _BAD_RUNS:
            return f"workflow {order.id} {_BAD_RUNS[status]}"
        if status == _RUNNING and described.pending_workflow_task.attempt > 2:
            return (
                f"workflow {order.id} fails its workflow task "
                f"(attempt {described.pending_workflow_task.attempt})"
            )
        if status == _RUNNING and order.status in FINAL_STATUSES:
            # The row moves in the run's last activity; the run closes right after.
            try:
                await asyncio.wait_for(client.get_workflow_handle(order.id).result(), CLOSE_SECONDS)
            except TimeoutError:
                return f"workflow {order.id} still running though its order is {order.status}"
        return None

    found = await asyncio.gather(*(one(order) for order in orders.values()))
    return [violation for violation in found if violation is not None]
