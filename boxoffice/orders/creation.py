"""`POST /orders`: idempotency lookup, admission control, then update-with-start.

The order matters: (1) a repeated Idempotency-Key finds its order; (2) admission control
(`admission.py`) refuses a request that the seats left, less those other buyers' reservations
are already on their way to take, cannot cover, before any workflow starts: a flash sale's
losers cost no workflow (nor, for a moment after a type showed no seat free, any query); (3)
update-with-start waits for the reservation, but only for a few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.core.database.models import Event, Order, TicketType
from boxoffice.core.settings import Settings
from boxoffice.core.temporal import search_attributes as sa
from boxoffice.orders.admission.control import admit
from boxoffice.orders.admission.sold_out_memo import SoldOutMemo
from boxoffice.orders.admission.turns import AdmissionTurns
from boxoffice.orders.messages import (
    RESERVATION_UPDATE_ID,
    Buyer,
    OrderItem,
    PipelineConfig,
    PurchaseInput,
    ReservationAnswer,
)
from boxoffice.orders.repository import admissions
from boxoffice.orders.schemas import OrderCreate
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

log = logging.getLogger(__name__)
_RETRY_SOON = "The seats could not be reserved just now; please retry in a few seconds."

SOLD_OUT_DETAIL = "Not enough seats left."
#: Namespace for order ids derived from Idempotency-Keys.
_ORDER_ID_NAMESPACE = uuid.UUID("6f1c2a4e-8d0b-4a57-9c36-2f8e5d1b7a90")


class OrderRefused(Exception):
    """The request cannot become an order; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Requester:
    """Who asks: the account (None for a guest) that will own the order, and the client's
    network as a keyed hash (`auth/buyer_identity.py`), whose unpaid holds are limited."""

    account: str | None = None
    client: str | None = None


@dataclass
class CreateOutcome:
    order_id: str
    decided: bool  # False: not decided within the wait; the client polls
    existing: bool = False


def order_id_for(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return f"ord_{uuid.uuid4().hex}"
    return f"ord_{uuid.uuid5(_ORDER_ID_NAMESPACE, idempotency_key).hex}"


def fingerprint(body: OrderCreate, account: str | None = None) -> str:
    """The request's identity: the body, and the account placing it, so another account
    reusing an Idempotency-Key cannot obtain someone else's order."""
    request = body.model_dump(mode="json")
    if account is not None:
        request["__account"] = account
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def pipeline_config(settings: Settings) -> PipelineConfig:
    return PipelineConfig(
        hold_seconds=settings.hold_seconds,
        payment_timeout_seconds=settings.payment_timeout_seconds,
        step_timeout_seconds=settings.step_timeout_seconds,
        step_max_attempts=settings.step_max_attempts,
        retry_initial_interval_seconds=settings.retry_initial_interval_seconds,
        retry_max_interval_seconds=settings.retry_max_interval_seconds,
        order_grace_seconds=settings.order_grace_seconds,
        payments_task_queue=settings.task_queue_payments,
        fulfilment_task_queue=settings.task_queue_fulfilment,
        max_hold_extension_seconds=settings.max_hold_extension_minutes * 60,
        first_hold_seconds=settings.first_hold_seconds,
        max_payment_attempts=settings.max_payment_attempts_per_order,
    )


async def validate_items(
    session: AsyncSession, body: OrderCreate, settings: Settings
) -> list[OrderItem]:
    """Merge repeated ticket types and check the request against the catalogue."""
    event = await session.get(Event, body.event_id)
    if event is None:
        raise OrderRefused(404, f"No event with id {body.event_id}.")
    if event.status != "on_sale":
        raise OrderRefused(409, f"Event {event.name!r} is not on sale.")
    quantities: dict[uuid.UUID, int] = {}
    for item in body.items:
        quantities[item.ticket_type_id] = quantities.get(item.ticket_type_id, 0) + item.quantity
    total = sum(quantities.values())
    if total > settings.max_tickets_per_order:
        raise OrderRefused(
            422, f"At most {settings.max_tickets_per_order} tickets per order ({total} asked)."
        )
    types = {
        tt.id: tt
        for tt in (
            await session.execute(select(TicketType).where(TicketType.id.in_(quantities)))
        ).scalars()
    }
    now = datetime.now(UTC)
    for type_id in quantities:
        tt = types.get(type_id)
        if tt is None or tt.event_id != event.id:
            raise OrderRefused(422, f"Ticket type {type_id} is not sold for this event.")
        # Here, so a sale that is over costs no workflow; the reservation checks it again.
        if now >= tt.sales_end(event):
            raise OrderRefused(409, tt.sales_ended(event))
    if len({tt.currency for tt in types.values()}) > 1:
        raise OrderRefused(422, "Ticket types of one order must share a currency.")
    return [OrderItem(str(type_id), qty) for type_id, qty in sorted(quantities.items())]


async def workflow_exists(client: Client, order_id: str) -> bool:
    try:
        await client.get_workflow_handle(order_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def create_order(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: Settings,
    body: OrderCreate,
    idempotency_key: str | None,
    requester: Requester | None = None,
    memo: SoldOutMemo | None = None,
    turns: AdmissionTurns | None = None,
) -> CreateOutcome:
    _refuse_if_remembered(memo, body, idempotency_key)
    # A refusal from memory costs no session at all: most requests of a flash sale end above.
    async with sessions() as session:
        return await _admit_and_ask(
            session, client, settings, body, idempotency_key, requester or Requester(), memo, turns
        )


async def _admit_and_ask(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    body: OrderCreate,
    idempotency_key: str | None,
    requester: Requester,
    memo: SoldOutMemo | None,
    turns: AdmissionTurns | None,
) -> CreateOutcome:
    order_id = order_id_for(idempotency_key)
    request_fingerprint = fingerprint(body, requester.account)
    async with turns.turn(body) if turns is not None else contextlib.nullcontext():
        # The type may have sold out while this request waited its turn.
        _refuse_if_remembered(memo, body, idempotency_key)
        await admissions.begin_autocommit(session)
        items = await validate_items(session, body, settings)
        if idempotency_key is not None:
            existing = await session.get(Order, order_id)
            if existing is not None:
                return _answer_from_row(existing, request_fingerprint)
        sold_out = await admit(session, order_id, items, settings.admission_lease_seconds, memo)
        await session.rollback()  # ends the autocommit work: gives the connection back
    if sold_out is not None and not (
        idempotency_key is not None and await workflow_exists(client, order_id)
    ):
        raise OrderRefused(409, sold_out)
    if sold_out is None and memo is not None:
        memo.forget(body)
    # No connection is held while waiting on Temporal (the session's transaction has ended).
    try:
        return await _start_and_ask(
            session,
            client,
            settings,
            body,
            items,
            order_id,
            request_fingerprint,
            requester,
            keyed=idempotency_key is not None,
        )
    except Exception:
        # No reservation will follow this admission (or one is already on its way, and the
        # seats it counted are let go a little early: nothing is sold without the UPDATE).
        await _withdraw_quietly(session, order_id)
        raise


def _refuse_if_remembered(
    memo: SoldOutMemo | None, body: OrderCreate, idempotency_key: str | None
) -> None:
    # A keyed request may belong to an order that took the last seats: it is looked up instead.
    refusal = memo.refusal(body) if memo is not None and idempotency_key is None else None
    if refusal is not None:
        raise OrderRefused(409, refusal)


async def _start_and_ask(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    body: OrderCreate,
    items: list[OrderItem],
    order_id: str,
    request_fingerprint: str,
    requester: Requester,
    keyed: bool,
) -> CreateOutcome:
    if keyed and await _closed_without_order(client, order_id):
        # Its run gave up (the database was away) without taking seats or writing the order
        # (else the lookup above found its row), so this key tries again in a new run, started
        # on its own: an update-with-start would only read the closed run's answer.
        await client.start_workflow(
            PurchaseWorkflow.run,
            _workflow_input(body, items, order_id, request_fingerprint, settings, requester),
            id=order_id,
            task_queue=settings.task_queue_purchases,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            search_attributes=_search_attributes(body),
        )
    start = _start_operation(body, items, order_id, request_fingerprint, settings, requester)
    try:
        answer = await _ask_for_seats(client, settings, start)
    except (WorkflowAlreadyStartedError, RPCError) as error:
        if isinstance(error, RPCError) and error.status != RPCStatusCode.ALREADY_EXISTS:
            raise
        # The order's run has closed (sold out, expired...): its row has the answer.
        existing = await session.get(Order, order_id)
        if existing is None:
            # Closed without an order: it gave up while the database was away.
            raise OrderRefused(503, _RETRY_SOON) from None
        # Read before the rollback below, which expires the row (a lazy load here is a 500).
        outcome = _answer_from_row(existing, request_fingerprint)
        await session.rollback()
        return outcome
    if answer is None:
        # Not decided in time (no worker, or a burst): the client polls the order's Location.
        return CreateOutcome(order_id, decided=False)
    if answer.status == "sold_out":
        raise OrderRefused(409, answer.reason or "Not enough seats left.")
    if answer.status == "rejected":
        if answer.error_type == "InvalidOrder":
            raise OrderRefused(422, answer.reason or "The order is not valid.")
        log.warning("order %s: reservation rejected: %s", order_id, answer.reason)
        raise OrderRefused(503, _RETRY_SOON)
    return CreateOutcome(order_id, decided=True)


async def _withdraw_quietly(session: AsyncSession, order_id: str) -> None:
    """Best effort: when the database is what failed, the admission lapses by itself."""
    try:
        await admissions.end(session, order_id)
        await session.commit()
    except Exception:  # the original error is the one to report
        log.warning("order %s: could not withdraw its admission; it lapses", order_id)
        with contextlib.suppress(Exception):
            await session.rollback()


def _workflow_input(
    body: OrderCreate,
    items: list[OrderItem],
    order_id: str,
    request_fingerprint: str,
    settings: Settings,
    requester: Requester,
) -> PurchaseInput:
    return PurchaseInput(
        order_id=order_id,
        event_id=str(body.event_id),
        items=items,
        buyer=Buyer(
            email=str(body.buyer.email),
            name=body.buyer.name,
            account=requester.account,
            client=requester.client,
        ),
        payment_method=body.payment_method,
        request_fingerprint=request_fingerprint,
        config=pipeline_config(settings),
    )


def _search_attributes(body: OrderCreate) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.EVENT_ID, str(body.event_id)),
            SearchAttributePair(sa.ORDER_STATUS, "pending"),
        ]
    )


def _start_operation(
    body: OrderCreate,
    items: list[OrderItem],
    order_id: str,
    request_fingerprint: str,
    settings: Settings,
    requester: Requester,
) -> WithStartWorkflowOperation[PurchaseWorkflow, str]:
    return WithStartWorkflowOperation(
        PurchaseWorkflow.run,
        _workflow_input(body, items, order_id, request_fingerprint, settings, requester),
        id=order_id,
        task_queue=settings.task_queue_purchases,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=_search_attributes(body),
    )


async def _ask_for_seats(
    client: Client, settings: Settings, start: WithStartWorkflowOperation[PurchaseWorkflow, str]
) -> ReservationAnswer | None:
    """The reservation's answer, or None when it is not decided within the wait."""
    try:
        answer: ReservationAnswer = await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                "reservation",
                start_workflow_operation=start,
                id=RESERVATION_UPDATE_ID,
                result_type=ReservationAnswer,
            ),
            timeout=settings.reservation_wait_seconds,
        )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return None
    except WorkflowUpdateFailedError as failed:
        # The run ended without answering (it should not; the workflow answers every path).
        raise OrderRefused(503, f"The reservation could not be made: {failed.cause}") from None
    return answer


async def _closed_without_order(client: Client, order_id: str) -> bool:
    """The order's run exists and has closed (the caller found no row for it)."""
    try:
        described = await client.get_workflow_handle(order_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return described.status != WorkflowExecutionStatus.RUNNING


def _answer_from_row(order: Order, request_fingerprint: str) -> CreateOutcome:
    if order.request_fingerprint and order.request_fingerprint != request_fingerprint:
        raise OrderRefused(
            422, "This Idempotency-Key was already used for a different order request."
        )
    if order.status == "sold_out":
        raise OrderRefused(409, order.last_error or "Not enough seats left.")
    return CreateOutcome(order.id, decided=True, existing=True)
