"""What support staff do to orders, in one place for the CLI and the admin API.

Every action goes to the order's workflow as an update carrying who and why (so the run's
history shows it and its validator refuses what the order's state does not allow) and is written
to the audit log with its outcome. Invalid input (no reason, unknown order) changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import FailureError

from boxoffice.core.database.models import Order
from boxoffice.core.errors import ErrorKind
from boxoffice.core.settings import Settings
from boxoffice.orders.client import OrderClient
from boxoffice.orders.domain import REASON_REQUIRED, OrderError, missing_reason
from boxoffice.orders.messages import ExtendHold, ResendRequest, SupportAction
from boxoffice.orders.repository import orders
from boxoffice.orders.repository.orders import OrderFilter

Action = Literal["retry", "cancel", "refund", "resend", "extend"]
BULK_ACTIONS: tuple[Action, ...] = ("retry", "cancel")
__all__ = ["BULK_ACTIONS", "OrderFilter", "Outcome", "SupportService"]


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
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: OrderClient,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._settings = settings

    def temporal_url(self, order_id: str) -> str:
        base = self._settings.temporal_ui_url.rstrip("/")
        return f"{base}/namespaces/{self._settings.temporal_namespace}/workflows/{order_id}"

    # --- reading -------------------------------------------------------------------------

    async def list_orders(self, where: OrderFilter) -> list[OrderSummary]:
        async with self._sessions() as session:
            found = await orders.matching(session, where)
        now = datetime.now(UTC)
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
            for o in found
        ]

    async def show(self, order_id: str) -> OrderDetail:
        async with self._sessions() as session:
            rows = await orders.everything_about(session, order_id)
        if rows is None:
            raise OrderError(ErrorKind.NOT_FOUND, f"No order with id {order_id}.")
        detail = OrderDetail(**rows)
        detail.workflow = await self._workflow_state(order_id)
        return detail

    async def _workflow_state(self, order_id: str) -> dict[str, Any]:
        """The run's own view: its step (status query) and its activities' last failures."""
        state: dict[str, Any] = {"url": self.temporal_url(order_id)}
        try:
            described = await self._client.describe(order_id)
        except OrderError as error:
            state["error"] = error.message
            return state
        if described is None:
            state["error"] = "no run of this order"
            return state
        raw = described.raw_description
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
                state["progress"] = asdict(await self._client.progress(order_id))
            except OrderError as error:
                state["progress_error"] = error.message
        return state

    async def _failure_message(self, failure: Failure) -> str | None:
        """The failure's message in the clear: the server holds it encrypted."""
        if not failure.ByteSize():
            return None
        copy = Failure()
        copy.CopyFrom(failure)  # decoding rewrites the failure in place
        error = await self._client.temporal.data_converter.decode_failure(copy)
        return (error.message if isinstance(error, FailureError) else str(error)) or None

    # --- actions -------------------------------------------------------------------------

    async def retry(self, order_id: str, actor: str, reason: str) -> Outcome:
        action = SupportAction(actor=actor, reason=_reason(reason))

        async def run() -> str:
            status = await self._client.retry(order_id, action)
            return f"retrying; the order is {status}"

        return await self._act(order_id, "retry", action, run)

    async def cancel(self, order_id: str, actor: str, reason: str) -> Outcome:
        action = SupportAction(actor=actor, reason=_reason(reason))

        async def run() -> str:
            return str((await self._client.support_cancel(order_id, action)).status)

        return await self._act(order_id, "cancel", action, run)

    async def refund(self, order_id: str, actor: str, reason: str) -> Outcome:
        action = SupportAction(actor=actor, reason=_reason(reason))

        async def run() -> str:
            return str((await self._client.refund(order_id, action)).status)

        return await self._act(order_id, "refund", action, run)

    async def resend(
        self, order_id: str, actor: str, reason: str = "", to: str | None = None
    ) -> Outcome:
        request = ResendRequest(actor=actor, reason=reason.strip() or "resend requested", to=to)

        async def run() -> str:
            sent = await self._client.resend(order_id, request)
            return f"sent to {sent.recipient} as {sent.message_id}"

        return await self._act(order_id, "resend", request, run)

    async def extend(self, order_id: str, actor: str, minutes: int, reason: str) -> Outcome:
        request = ExtendHold(actor=actor, reason=_reason(reason), minutes=minutes)

        async def run() -> str:
            extended = await self._client.extend(order_id, request)
            return f"held until {extended.hold_expires_at.isoformat()}"

        return await self._act(order_id, "extend", request, run)

    async def bulk(
        self, action: Action, where: OrderFilter, actor: str, reason: str
    ) -> list[Outcome]:
        """Retry or cancel every order the filter matches (an incident's stuck orders)."""
        if action not in BULK_ACTIONS:
            raise OrderError(
                ErrorKind.INVALID, f"Bulk works for {', '.join(BULK_ACTIONS)}, not {action}."
            )
        if not (where.status or where.event_id):
            raise OrderError(ErrorKind.INVALID, "A bulk action needs a status or an event filter.")
        _reason(reason)
        targets = await self.list_orders(where)
        step = self.retry if action == "retry" else self.cancel
        limit = asyncio.Semaphore(8)

        async def one(order_id: str) -> Outcome:
            async with limit:
                return await step(order_id, actor, reason)

        return list(await asyncio.gather(*(one(o.id) for o in targets)))

    async def _act(
        self, order_id: str, action: str, request: Any, call: Callable[[], Awaitable[str]]
    ) -> Outcome:
        """Do it through the order's run (which refuses what its state does not allow), and
        write who, why and how it went to the audit log."""
        async with self._sessions() as session:
            if await session.get(Order, order_id) is None:
                raise OrderError(ErrorKind.NOT_FOUND, f"No order with id {order_id}.")
        try:
            outcome = Outcome(order_id, action, True, None, await call())
        except OrderError as refused:
            if refused.kind == ErrorKind.UNAVAILABLE:
                raise
            outcome = Outcome(order_id, action, False, None, refused.message)
        async with self._sessions() as session, session.begin():
            order = await session.get(Order, order_id)
            outcome.status = order.status if order else None
            orders.audit(
                session,
                order_id,
                request.actor,
                action,
                request.reason,
                ("done: " if outcome.ok else "refused: ") + outcome.detail,
            )
        return outcome


def _reason(reason: str) -> str:
    if missing_reason(reason):
        raise OrderError(ErrorKind.INVALID, f"{REASON_REQUIRED[:-1]} (--reason).")
    return reason.strip()
