"""What support staff do to orders, in one place for the CLI and the admin API.

Every action goes to the order's workflow as an update carrying who and why (so the run's
history shows it and its validator refuses what the order's state does not allow) and is written
to the audit log with its outcome. Invalid input (no reason, unknown order) changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.core.database.models import (
    AuditEntry,
    Email,
    Hold,
    Order,
    PaymentAttempt,
    Refund,
    StrayRefund,
    Ticket,
)
from boxoffice.core.settings import Settings
from boxoffice.orders.messages import ExtendHold, ResendRequest, SupportAction
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

Action = Literal["retry", "cancel", "refund", "resend", "extend"]
BULK_ACTIONS: tuple[Action, ...] = ("retry", "cancel")


class SupportError(Exception):
    """A request support cannot act on. `kind` maps to an HTTP status and an exit code."""

    def __init__(self, kind: Literal["not_found", "invalid", "refused"], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class OrderFilter:
    status: str | None = None
    event_id: uuid.UUID | None = None
    buyer_email: str | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    limit: int = 100


@dataclass
class OrderSummary:
    id: str
    status: str
    event_id: str
    buyer_email: str
    total_amount: int
    currency: str
    created_at: datetime
    age_seconds: int
    last_error: str | None
    temporal_url: str


@dataclass
class Outcome:
    order_id: str
    action: str
    ok: bool
    status: str | None
    detail: str


@dataclass
class OrderDetail:
    order: dict[str, Any]
    holds: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    # Payments the order did not keep (a second payment, or one after it ended), given back.
    stray_refunds: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    workflow: dict[str, Any] = field(default_factory=dict)


class SupportService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], temporal: Client, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._temporal = temporal
        self._settings = settings

    def temporal_url(self, order_id: str) -> str:
        base = self._settings.temporal_ui_url.rstrip("/")
        return f"{base}/namespaces/{self._settings.temporal_namespace}/workflows/{order_id}"

    # --- reading -------------------------------------------------------------------------

    async def list_orders(self, where: OrderFilter) -> list[OrderSummary]:
        query = select(Order).order_by(Order.created_at).limit(max(1, min(where.limit, 1000)))
        if where.status:
            query = query.where(Order.status == where.status)
        if where.event_id:
            query = query.where(Order.event_id == where.event_id)
        if where.buyer_email:
            query = query.where(func.lower(Order.buyer_email) == where.buyer_email.strip().lower())
        if where.created_before:
            query = query.where(Order.created_at < where.created_before)
        if where.created_after:
            query = query.where(Order.created_at > where.created_after)
        now = datetime.now(UTC)
        async with self._sessions() as session:
            orders = (await session.execute(query)).scalars().all()
        return [
            OrderSummary(
                id=o.id,
                status=o.status,
                event_id=str(o.event_id),
                buyer_email=o.buyer_email,
                total_amount=o.total_amount,
                currency=o.currency,
                created_at=o.created_at,
                age_seconds=int((now - o.created_at).total_seconds()),
                last_error=o.last_error,
                temporal_url=self.temporal_url(o.id),
            )
            for o in orders
        ]

    async def show(self, order_id: str) -> OrderDetail:
        async with self._sessions() as session:
            order = await session.get(Order, order_id)
            if order is None:
                raise SupportError("not_found", f"No order with id {order_id}.")
            detail = OrderDetail(
                order=_row(order),
                holds=await _rows(session, Hold, Hold.order_id == order_id),
                payments=await _rows(session, PaymentAttempt, PaymentAttempt.order_id == order_id),
                refunds=await _rows(session, Refund, Refund.order_id == order_id),
                stray_refunds=await _rows(session, StrayRefund, StrayRefund.order_id == order_id),
                tickets=await _rows(session, Ticket, Ticket.order_id == order_id),
                emails=await _rows(session, Email, Email.order_id == order_id),
                audit=await _rows(session, AuditEntry, AuditEntry.order_id == order_id),
            )
        detail.workflow = await self._workflow_state(order_id)
        return detail

    async def _workflow_state(self, order_id: str) -> dict[str, Any]:
        """The run's own view: its step (status query) and its activities' last failures."""
        handle = self._temporal.get_workflow_handle(order_id, result_type=str)
        state: dict[str, Any] = {"url": self.temporal_url(order_id)}
        try:
            raw = (await handle.describe()).raw_description
        except RPCError as error:
            state["error"] = error.message
            return state
        info = raw.workflow_execution_info
        state["run_status"] = WorkflowExecutionStatus.Name(info.status).removeprefix(
            "WORKFLOW_EXECUTION_STATUS_"
        )
        state["pending_activities"] = [
            {
                "activity": pending.activity_type.name,
                "attempt": pending.attempt,
                "last_failure": await self._failure_message(pending.last_failure),
            }
            for pending in raw.pending_activities
        ]
        if state["run_status"] == "RUNNING":
            try:
                state["progress"] = asdict(await handle.query(PurchaseWorkflow.status))
            except RPCError as error:
                state["progress_error"] = error.message
        return state

    async def _failure_message(self, failure: Failure) -> str | None:
        """The failure's message in the clear: the server holds it encrypted."""
        if not failure.ByteSize():
            return None
        copy = Failure()
        copy.CopyFrom(failure)  # decoding rewrites the failure in place
        error = await self._temporal.data_converter.decode_failure(copy)
        return (error.message if isinstance(error, FailureError) else str(error)) or None

    # --- actions -------------------------------------------------------------------------

    async def retry(self, order_id: str, actor: str, reason: str) -> Outcome:
        action = SupportAction(actor=actor, reason=_reason(reason))

        async def run(handle: Any) -> str:
            status = await handle.execute_update(PurchaseWorkflow.support_retry, action)
            return f"retrying; the order is {status}"

        return await self._act(order_id, "retry", action, run)

    async def cancel(self, order_id: str, actor: str, reason: str) -> Outcome:
        action = SupportAction(actor=actor, reason=_reason(reason))

        async def run(handle: Any) -> str:
            result = await handle.execute_update(PurchaseWorkflow.support_cancel, action)
            return str(result.status)

        return await self._act(order_id, "cancel", action, run)

    async def refund(self, order_id: str, actor: str, reason: str) -> Outcome:
        action = SupportAction(actor=actor, reason=_reason(reason))

        async def run(handle: Any) -> str:
            result = await handle.execute_update(PurchaseWorkflow.refund, action)
            return str(result.status)

        return await self._act(order_id, "refund", action, run)

    async def resend(
        self, order_id: str, actor: str, reason: str = "", to: str | None = None
    ) -> Outcome:
        request = ResendRequest(actor=actor, reason=reason.strip() or "resend requested", to=to)

        async def run(handle: Any) -> str:
            sent = await handle.execute_update(PurchaseWorkflow.resend, request)
            return f"sent to {sent.recipient} as {sent.message_id}"

        return await self._act(order_id, "resend", request, run)

    async def extend(self, order_id: str, actor: str, minutes: int, reason: str) -> Outcome:
        request = ExtendHold(actor=actor, reason=_reason(reason), minutes=minutes)

        async def run(handle: Any) -> str:
            extended = await handle.execute_update(PurchaseWorkflow.extend_hold, request)
            return f"held until {extended.hold_expires_at.isoformat()}"

        return await self._act(order_id, "extend", request, run)

    async def bulk(
        self, action: Action, where: OrderFilter, actor: str, reason: str
    ) -> list[Outcome]:
        """Retry or cancel every order the filter matches (an incident's stuck orders)."""
        if action not in BULK_ACTIONS:
            raise SupportError(
                "invalid", f"Bulk works for {', '.join(BULK_ACTIONS)}, not {action}."
            )
        if not (where.status or where.event_id):
            raise SupportError("invalid", "A bulk action needs a status or an event filter.")
        _reason(reason)
        targets = await self.list_orders(where)
        step = self.retry if action == "retry" else self.cancel
        limit = asyncio.Semaphore(8)

        async def one(order_id: str) -> Outcome:
            async with limit:
                return await step(order_id, actor, reason)

        return list(await asyncio.gather(*(one(o.id) for o in targets)))

    async def _act(
        self,
        order_id: str,
        action: str,
        request: Any,
        call: Callable[[Any], Awaitable[str]],
    ) -> Outcome:
        async with self._sessions() as session:
            if await session.get(Order, order_id) is None:
                raise SupportError("not_found", f"No order with id {order_id}.")
        handle = self._temporal.get_workflow_handle(order_id, result_type=str)
        try:
            result = await call(handle)
            outcome = Outcome(order_id, action, True, None, result)
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            outcome = Outcome(order_id, action, False, None, message)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            outcome = Outcome(order_id, action, False, None, "The order's workflow has closed.")
        async with self._sessions() as session, session.begin():
            order = await session.get(Order, order_id)
            outcome.status = order.status if order else None
            session.add(
                AuditEntry(
                    order_id=order_id,
                    actor=request.actor,
                    action=action,
                    reason=request.reason,
                    outcome=("done: " if outcome.ok else "refused: ") + outcome.detail,
                )
            )
        return outcome


def _reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise SupportError("invalid", "A reason is required (--reason).")
    return reason.strip()


def _row(obj: Any) -> dict[str, Any]:
    return {column.key: getattr(obj, column.key) for column in obj.__table__.columns}


async def _rows(session: AsyncSession, model: Any, condition: Any) -> list[dict[str, Any]]:
    return [_row(r) for r in (await session.execute(select(model).where(condition))).scalars()]
