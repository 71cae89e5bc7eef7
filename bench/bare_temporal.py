"""The bare Temporal baselines: the smallest workflows of our shape, on the same server.

`BareReservationWorkflow`: update-with-start whose update returns at once (scenario 1).
`BarePipelineWorkflow`: update-with-start answered after a no-op local activity, one `pay`
update running a no-op activity, then three more no-op activities: the five steps of a purchase
(reserve, charge, issue, store, email) with nothing inside them (scenario 2).

`python -m bench.bare_temporal ADDRESS TASK_QUEUE` runs their worker in a process of its own,
as our workers run in theirs."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

_STEP = timedelta(seconds=30)
FULFILMENT_STEPS = ("bare_issue", "bare_store", "bare_email")


@activity.defn(name="bare_step")
async def bare_step(name: str) -> str:
    """Does nothing: the baseline is what Temporal costs per step, nothing else."""
    return name


@workflow.defn
class BareReservationWorkflow:
    def __init__(self) -> None:
        self._answered = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self._answered)
        return "done"

    @workflow.update(name="reservation")
    async def reservation(self) -> str:
        self._answered = True
        return "reserved"


@workflow.defn
class BarePipelineWorkflow:
    def __init__(self) -> None:
        self._answer: str | None = None
        self._paid = False

    @workflow.run
    async def run(self) -> str:
        self._answer = await workflow.execute_local_activity(
            bare_step, "bare_reserve", start_to_close_timeout=_STEP
        )
        await workflow.wait_condition(lambda: self._paid)
        for step in FULFILMENT_STEPS:
            await workflow.execute_activity(bare_step, step, start_to_close_timeout=_STEP)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "completed"

    @workflow.update(name="reservation")
    async def reservation(self) -> str:
        await workflow.wait_condition(lambda: self._answer is not None)
        assert self._answer is not None
        return self._answer

    @workflow.update
    async def pay(self) -> str:
        await workflow.wait_condition(lambda: self._answer is not None)
        await workflow.execute_activity(bare_step, "bare_charge", start_to_close_timeout=_STEP)
        self._paid = True
        return "paid"


async def reserve_bare(client: Client, workflow_id: str, task_queue: str) -> None:
    """Scenario 1's bare round trip: start the workflow and get its update's answer."""
    await client.execute_update_with_start_workflow(
        "reservation",
        result_type=str,
        start_workflow_operation=WithStartWorkflowOperation(
            BareReservationWorkflow.run,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        ),
    )


async def buy_bare(client: Client, workflow_id: str, task_queue: str) -> None:
    """Scenario 2's bare purchase: reserve, pay, and wait for the run to complete."""
    start = WithStartWorkflowOperation(
        BarePipelineWorkflow.run,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    await client.execute_update_with_start_workflow(
        "reservation", result_type=str, start_workflow_operation=start
    )
    handle = await start.workflow_handle()
    await handle.execute_update(BarePipelineWorkflow.pay)
    await handle.result()


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareReservationWorkflow, BarePipelineWorkflow],
        activities=[bare_step],
    )
    async with worker:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
