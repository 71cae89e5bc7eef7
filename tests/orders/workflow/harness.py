"""The workflow tier's harness: the real PurchaseWorkflow on the time-skipping test server, every
activity faked by name (`fakes.py`, whose names the tests import from here too)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
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
    OrderProgress,
    PipelineConfig,
    PurchaseInput,
    ReservationAnswer,
)
from boxoffice.orders.workflow.late_payment import RefundLatePayment
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

from .fakes import (
    BUYER,
    DECLINE_REASON,
    EVENT_ID,
    FULFILMENT,
    ITEMS,
    SEATS,
    TOTAL,
    UNIT_PRICE,
    VISA,
    Call,
    Fakes,
    declined,
    outage,
)

__all__ = [
    "BUYER",
    "DECLINE_REASON",
    "EVENT_ID",
    "FULFILMENT",
    "HISTORIES",
    "ITEMS",
    "RECORD_ENV",
    "SEATS",
    "TOTAL",
    "UNIT_PRICE",
    "VISA",
    "WAIT_SECONDS",
    "WORKFLOWS",
    "Call",
    "Fakes",
    "Harness",
    "PurchaseHandle",
    "declined",
    "outage",
    "refusal",
    "save_history",
    "search_attribute",
    "short_config",
]

#: Every workflow the purchases worker runs.
WORKFLOWS = [PurchaseWorkflow, RefundLatePayment]

HISTORIES = Path(__file__).resolve().parent.parent / "replay" / "histories"
RECORD_ENV = "BOXOFFICE_RECORD_HISTORIES"

#: How long a test waits in real time for the workflow to reach a state.
WAIT_SECONDS = 10.0

PurchaseHandle = WorkflowHandle[PurchaseWorkflow, str]


def refusal(error: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> ApplicationError:
    """The validator's (or handler's) ApplicationError behind a refused update."""
    cause = error.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


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
