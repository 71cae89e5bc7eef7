"""The workflow tier's harness: the real PurchaseWorkflow, every activity faked by name.

The fakes record each call (name and payload, in order) and answer from a script, so a test
states what the outside world does and asserts what the workflow asked of it."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boxoffice.orders.messages import (
    RESERVATION_UPDATE_ID,
    Buyer,
    Done,
    EmailSent,
    HoldExpiryChange,
    IssuedTicket,
    IssuedTickets,
    OrderItem,
    OrderProgress,
    OrderRef,
    PayInput,
    PayResult,
    PipelineConfig,
    PurchaseInput,
    RefundInput,
    RefundResult,
    ReleaseInput,
    ReleaseResult,
    ResendInput,
    ReservationAnswer,
    ReservedLine,
    ReserveInput,
    ReserveResult,
    SettleInput,
    StatusChange,
    StoredDocument,
    StrayPayment,
    StrayPaymentResult,
)
from boxoffice.orders.workflow.late_payment import RefundLatePayment
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

#: Every workflow the purchases worker runs.
WORKFLOWS = [PurchaseWorkflow, RefundLatePayment]

HISTORIES = Path(__file__).resolve().parent.parent / "replay" / "histories"
RECORD_ENV = "BOXOFFICE_RECORD_HISTORIES"

EVENT_ID = "evt-1"
BUYER = Buyer(email="ada@example.com", name="Ada Lovelace")
ITEMS = [OrderItem(ticket_type_id="tt-general", quantity=2)]
UNIT_PRICE = 2500
TOTAL = UNIT_PRICE * 2
SEATS = 2
DECLINE_REASON = "Your card was declined."
VISA = "pm_card_visa"
FULFILMENT = ["issue_tickets", "store_tickets_pdf", "email_tickets"]

#: How long a test waits in real time for the workflow to reach a state.
WAIT_SECONDS = 10.0

PurchaseHandle = WorkflowHandle[PurchaseWorkflow, str]


def declined(reason: str = DECLINE_REASON) -> ApplicationError:
    """What charge_payment raises when Stripe declines the card."""
    return ApplicationError(reason, type="CardDeclined", non_retryable=True)


def outage(what: str) -> ApplicationError:
    """A retryable failure: the outside system is away."""
    return ApplicationError(f"{what} is unavailable", type="ServiceUnavailable")


def refusal(error: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> ApplicationError:
    """The validator's (or handler's) ApplicationError behind a refused update."""
    cause = error.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


@dataclass
class Call:
    name: str
    arg: Any


class Fakes:
    """Every activity of the pipeline, registered under its real name."""

    def __init__(self, now: datetime) -> None:
        self.calls: list[Call] = []
        # Fake activities running now (a test ending with one in flight waits for it).
        self.running = 0
        self.sold_out = False
        # When set, reserve_seats raises it (e.g. a non-retryable InvalidOrder).
        self.reserve_error: ApplicationError | None = None
        # Times relative to the test server's clock when the test began.
        self.refund_deadline = now + timedelta(hours=1)
        self.event_starts_at = now + timedelta(hours=2)
        # Scripted answers, taken in order; when empty, a payment succeeds.
        self.charges: list[PayResult | ApplicationError] = []
        self.settles: list[PayResult] = []
        # Fulfilment steps that fail (retryably) on every attempt while listed.
        self.failing: set[str] = set()
        self.checked_in = False
        # When set, the activity waits for the gate before answering.
        self.charge_gate: asyncio.Event | None = None
        self.refund_gate: asyncio.Event | None = None
        # When set, refund_payment raises it (Stripe refusing the refund).
        self.refund_error: ApplicationError | None = None
        self.release_gate: asyncio.Event | None = None
        # When set, reserve_seats waits for it (the API still taking the seats).
        self.reserve_gate: asyncio.Event | None = None
        # reserve_seats fails (retryably: the database away) this many times first.
        self.reserve_outages = 0

    # --- what happened --------------------------------------------------------------------

    def names(self) -> list[str]:
        return [call.name for call in self.calls]

    def args(self, name: str) -> list[Any]:
        return [call.arg for call in self.calls if call.name == name]

    def count(self, name: str) -> int:
        return len(self.args(name))

    def _record(self, name: str, arg: Any) -> None:
        self.calls.append(Call(name, arg))

    async def _gate(self, gate: asyncio.Event | None) -> None:
        if gate is None:
            return
        self.running += 1
        try:
            await gate.wait()
        finally:
            self.running -= 1

    async def open_gates(self) -> None:
        """Let gated fakes answer, and wait (briefly) until they have. The test server keeps
        its clock locked for an activity whose run is terminated mid-flight, which would stall
        every later test's timers."""
        if self.running == 0:
            return
        for gate in (self.charge_gate, self.refund_gate, self.release_gate, self.reserve_gate):
            if gate is not None:
                gate.set()
        for _ in range(100):
            if self.running == 0:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # the worker reports the answer

    def activities(self) -> Sequence[Callable[..., Any]]:
        return [
            self.reserve_seats,
            self.release_seats,
            self.record_status,
            self.record_hold_expiry,
            self.charge_payment,
            self.settle_payment,
            self.refund_payment,
            self.refund_stray_payment,
            self.issue_tickets,
            self.void_tickets,
            self.store_tickets_pdf,
            self.email_tickets,
            self.resend_tickets_email,
        ]

    # --- inventory ------------------------------------------------------------------------

    @activity.defn(name="reserve_seats")
    async def reserve_seats(self, request: ReserveInput) -> ReserveResult:
        self._record("reserve_seats", request)
        await self._gate(self.reserve_gate)
        if self.reserve_outages > 0:
            self.reserve_outages -= 1
            raise ApplicationError("the database is away", type="OperationalError")
        if self.reserve_error is not None:
            raise self.reserve_error
        if self.sold_out:
            return ReserveResult(reserved=False, reason="Not enough seats left.")
        return ReserveResult(
            reserved=True,
            total_amount=TOTAL,
            currency="eur",
            lines=[ReservedLine("tt-general", "General admission", SEATS, UNIT_PRICE)],
            hold_expires_at=request.hold_expires_at,
            refund_deadline=self.refund_deadline,
            event_starts_at=self.event_starts_at,
        )

    @activity.defn(name="release_seats")
    async def release_seats(self, request: ReleaseInput) -> ReleaseResult:
        self._record("release_seats", request)
        await self._gate(self.release_gate)
        return ReleaseResult(seats_released=SEATS)

    @activity.defn(name="record_status")
    async def record_status(self, change: StatusChange) -> Done:
        self._record("record_status", change)
        return Done()

    @activity.defn(name="record_hold_expiry")
    async def record_hold_expiry(self, change: HoldExpiryChange) -> Done:
        self._record("record_hold_expiry", change)
        return Done()

    # --- payments -------------------------------------------------------------------------

    @activity.defn(name="charge_payment")
    async def charge_payment(self, request: PayInput) -> PayResult:
        self._record("charge_payment", request)
        await self._gate(self.charge_gate)
        outcome = (
            self.charges.pop(0)
            if self.charges
            else PayResult(status="succeeded", payment_intent_id=f"pi_{request.attempt}")
        )
        if isinstance(outcome, ApplicationError):
            raise outcome
        return outcome

    @activity.defn(name="settle_payment")
    async def settle_payment(self, request: SettleInput) -> PayResult:
        self._record("settle_payment", request)
        if self.settles:
            return self.settles.pop(0)
        return PayResult(status="succeeded", payment_intent_id=f"pi_{request.attempt}")

    @activity.defn(name="refund_payment")
    async def refund_payment(self, request: RefundInput) -> RefundResult:
        self._record("refund_payment", request)
        await self._gate(self.refund_gate)
        if self.refund_error is not None:
            raise self.refund_error
        return RefundResult(refund_id="re_1", amount=TOTAL)

    @activity.defn(name="refund_stray_payment")
    async def refund_stray_payment(self, stray: StrayPayment) -> StrayPaymentResult:
        self._record("refund_stray_payment", stray)
        return StrayPaymentResult(
            outcome="refunded", refund_id=f"re_{stray.payment_intent_id}", amount=TOTAL
        )

    # --- fulfilment -----------------------------------------------------------------------

    def _maybe_fail(self, name: str) -> None:
        if name in self.failing:
            raise outage(f"the service behind {name}")

    @activity.defn(name="issue_tickets")
    async def issue_tickets(self, ref: OrderRef) -> IssuedTickets:
        self._record("issue_tickets", ref)
        self._maybe_fail("issue_tickets")
        return IssuedTickets(
            [IssuedTicket(f"t-{i}", "tt-general", i, f"code-{i}") for i in range(SEATS)]
        )

    @activity.defn(name="store_tickets_pdf")
    async def store_tickets_pdf(self, ref: OrderRef) -> StoredDocument:
        self._record("store_tickets_pdf", ref)
        self._maybe_fail("store_tickets_pdf")
        return StoredDocument(key=f"tickets/{ref.order_id}.pdf")

    @activity.defn(name="email_tickets")
    async def email_tickets(self, ref: OrderRef) -> EmailSent:
        self._record("email_tickets", ref)
        self._maybe_fail("email_tickets")
        return EmailSent(message_id=f"<{ref.order_id}@boxoffice>", recipient=BUYER.email)

    @activity.defn(name="resend_tickets_email")
    async def resend_tickets_email(self, request: ResendInput) -> EmailSent:
        self._record("resend_tickets_email", request)
        return EmailSent(
            message_id=f"<tickets.{request.order_id}.resend{request.sequence}@boxoffice>",
            recipient=request.to or BUYER.email,
        )

    @activity.defn(name="void_tickets")
    async def void_tickets(self, ref: OrderRef) -> Done:
        self._record("void_tickets", ref)
        if self.checked_in:
            raise ApplicationError(
                f"order {ref.order_id} has 1 checked-in ticket(s)",
                type="TicketCheckedIn",
                non_retryable=True,
            )
        return Done()


async def save_history(handle: WorkflowHandle[Any, Any], path: str) -> None:
    """Save the run's history as the replay fixture `path` when recording (RECORD_ENV=1); the
    chaos tier records the paths its faults discover the same way."""
    if os.environ.get(RECORD_ENV) != "1":
        return
    history = await handle.fetch_history()
    HISTORIES.mkdir(parents=True, exist_ok=True)
    (HISTORIES / f"{path}.json").write_text(history.to_json() + "\n", encoding="utf-8")


def short_config(task_queue: str) -> PipelineConfig:
    """Short numbers; payments and fulfilment go to the test's own queue, so one worker
    serves every activity."""
    return PipelineConfig(
        hold_seconds=900,
        payment_timeout_seconds=10,
        step_timeout_seconds=10,
        step_max_attempts=2,
        retry_initial_interval_seconds=0.05,
        retry_max_interval_seconds=0.1,
        order_grace_seconds=60,
        payments_task_queue=task_queue,
        fulfilment_task_queue=task_queue,
    )


@dataclass
class Harness:
    env: WorkflowEnvironment
    task_queue: str
    fakes: Fakes
    config: PipelineConfig
    handles: list[PurchaseHandle] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.env.client

    def own_uncached_queue(self, name: str) -> Callable[[], Worker]:
        """Move this test to a queue of its own and return a maker of workers for it that keep
        no cache, so a test can stop its worker and have two messages land in one task.

        No cache means no sticky queue: the next workflow task goes to the shared queue, not to
        the stopped worker (the test server implements no sticky timeout or reset)."""
        self.task_queue = name
        self.config = replace(self.config, payments_task_queue=name, fulfilment_task_queue=name)

        def worker() -> Worker:
            return Worker(
                self.client,
                task_queue=name,
                workflows=WORKFLOWS,
                activities=self.fakes.activities(),
                max_cached_workflows=0,
            )

        return worker

    def new_order_id(self, path: str) -> str:
        return f"{path}-{uuid.uuid4().hex[:12]}"

    def order(self, order_id: str, payment_method: str | None = None) -> PurchaseInput:
        return PurchaseInput(
            order_id=order_id,
            event_id=EVENT_ID,
            items=list(ITEMS),
            buyer=BUYER,
            payment_method=payment_method,
            request_fingerprint="fp-1",
            config=replace(self.config),
        )

    async def create(
        self,
        order_id: str,
        payment_method: str | None = None,
        task_timeout: timedelta | None = None,
    ) -> tuple[ReservationAnswer, PurchaseHandle]:
        """Create the order the way the API does: update-with-start, fixed update id."""
        return await self.create_from(self.order(order_id, payment_method), task_timeout)

    async def start(self, order: PurchaseInput) -> PurchaseHandle:
        """Create this order (one the test shaped itself); its handle."""
        _, handle = await self.create_from(order)
        return handle

    async def create_from(
        self, order: PurchaseInput, task_timeout: timedelta | None = None
    ) -> tuple[ReservationAnswer, PurchaseHandle]:
        order_id = order.order_id
        start = WithStartWorkflowOperation(
            PurchaseWorkflow.run,
            order,
            id=order_id,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            task_timeout=task_timeout,
        )
        answer: ReservationAnswer = await self.client.execute_update_with_start_workflow(
            "reservation",
            start_workflow_operation=start,
            id=RESERVATION_UPDATE_ID,
            result_type=ReservationAnswer,
        )
        handle = await start.workflow_handle()
        self.handles.append(handle)
        return answer, handle

    async def progress(self, handle: PurchaseHandle) -> OrderProgress:
        return await handle.query(PurchaseWorkflow.status)

    async def wait_for(
        self, handle: PurchaseHandle, what: str, done: Callable[[OrderProgress], bool]
    ) -> OrderProgress:
        """Poll the status query (real time, time skipping stays locked) until `done`."""
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while True:
            progress = await self.progress(handle)
            if done(progress):
                return progress
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"order never reached {what}; last seen {progress}")
            await asyncio.sleep(0.02)

    async def wait_for_status(self, handle: PurchaseHandle, status: str) -> OrderProgress:
        return await self.wait_for(handle, status, lambda p: p.status == status)

    async def wait_for_call(self, name: str, times: int = 1) -> None:
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while self.fakes.count(name) < times:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"{name} never ran {times} time(s); calls {self.fakes.names()}"
                )
            await asyncio.sleep(0.02)

    async def skipping_time(self, work: Awaitable[Any]) -> Any:
        """Await `work` while the test server may skip to the next timer. A workflow started
        by update-with-start does not get this from `handle.result()`, so do it here."""
        service = self.client.test_service
        await service.unlock_time_skipping(UnlockTimeSkippingRequest())
        try:
            return await asyncio.wait_for(work, WAIT_SECONDS)
        finally:
            await service.lock_time_skipping(LockTimeSkippingRequest())

    async def finish(self, handle: PurchaseHandle, path: str) -> str:
        """Run the order to its end (skipping timers), save its history when recording, and
        return the workflow's result.

        Always through a plain handle: one from `start_workflow` unlocks time skipping in its
        own `result()`, and unlocking twice makes the test server fail the call whenever
        nothing else holds its clock at that moment (a flaky "Application error")."""
        plain = self.client.get_workflow_handle(handle.id, result_type=str)
        result: str = await self.skipping_time(plain.result())
        await self.save_history(handle, path)
        return result

    async def save_history(self, handle: PurchaseHandle, path: str) -> None:
        await save_history(handle, path)

    async def close_leftovers(self) -> None:
        """Terminate runs a failed test left open, so their timers never hold up later tests."""
        for handle in self.handles:
            # The raw call: the SDK's describe() decodes search attributes, and the test server
            # keeps an unset Datetime attribute in a form that does not decode.
            raw = await self.env.client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=self.env.client.namespace,
                    execution=WorkflowExecution(workflow_id=handle.id),
                )
            )
            if raw.workflow_execution_info.status == (
                WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
            ):
                await handle.terminate("test over")


async def search_attribute(handle: PurchaseHandle, name: str) -> list[object]:
    """The values of one of the run's search attributes, as operators' queries see them."""
    description = await handle.describe()
    return list(description.search_attributes.get(name, []))
