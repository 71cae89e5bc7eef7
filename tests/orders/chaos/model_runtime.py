"""The model-based test's runtime: the time-skipping test server with the real activities (on
the chaos cluster's PostgreSQL, Stripe emulator, S3 and SMTP, through its proxies), all on an
event loop of their own thread, so hypothesis's synchronous rules can drive it step by step."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from boxoffice.core.settings import Settings
from boxoffice.orders.client import pipeline_config
from boxoffice.orders.messages import (
    RESERVATION_UPDATE_ID,
    Buyer,
    OrderItem,
    OrderProgress,
    PipelineConfig,
    PurchaseInput,
    ReservationAnswer,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow
from boxoffice.worker import QUEUE_KINDS, build_workers, running
from tests.orders.chaos.cluster import Cluster, open_world
from tests.orders.chaos.invariants import World
from tests.orders.workflow.conftest import _register_search_attributes, _test_server_path

T = TypeVar("T")
STEP_SECONDS = 60.0
HOLD_SECONDS = 120


class ModelRuntime:
    """Owns the loop thread, the test server and the workers; `run` executes a coroutine there."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        suffix = uuid.uuid4().hex[:8]
        self.settings: Settings = cluster.settings.model_copy(
            update={
                "task_queue_purchases": f"model-purchases-{suffix}",
                "task_queue_payments": f"model-payments-{suffix}",
                "task_queue_fulfilment": f"model-fulfilment-{suffix}",
                "step_max_attempts": 2,
                "retry_initial_interval_seconds": 0.05,
                "retry_max_interval_seconds": 0.1,
            }
        )
        self.config: PipelineConfig = dataclasses.replace(
            pipeline_config(self.settings), hold_seconds=HOLD_SECONDS
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stop = asyncio.Event()
        self._ready = threading.Event()
        self._main: asyncio.Future[None] | None = None
        self.env: WorkflowEnvironment
        self.world: World

    def __enter__(self) -> ModelRuntime:
        self._thread.start()
        self._main = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)  # type: ignore[assignment]
        if not self._ready.wait(STEP_SECONDS):
            raise RuntimeError("the model runtime did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        assert self._main is not None
        self._main.result(timeout=STEP_SECONDS)  # type: ignore[call-arg]
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _serve(self) -> None:
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=_test_server_path()
        )
        try:
            await _register_search_attributes(env)
            async with open_world(self.cluster) as (world, _engine):
                world.temporal = env.client
                self.env, self.world = env, world
                workers = build_workers(env.client, self.settings, QUEUE_KINDS, world.sessions)
                async with running(workers):
                    self._ready.set()
                    await self._stop.wait()
        finally:
            await env.shutdown()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=STEP_SECONDS)

    @property
    def client(self) -> Client:
        return self.env.client

    # --- what a buyer and support do --------------------------------------------------------

    async def create(self, event_id: str, ticket_type_id: str, quantity: int) -> ReservationAnswer:
        order_id = f"ord_{uuid.uuid4().hex}"
        start = WithStartWorkflowOperation(
            PurchaseWorkflow.run,
            PurchaseInput(
                order_id,
                event_id,
                [OrderItem(ticket_type_id, quantity)],
                Buyer("model@example.com", "Model Buyer"),
                config=self.config,
            ),
            id=order_id,
            task_queue=self.settings.task_queue_purchases,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        answer: ReservationAnswer = await self.client.execute_update_with_start_workflow(
            "reservation",
            start_workflow_operation=start,
            id=RESERVATION_UPDATE_ID,
            result_type=ReservationAnswer,
        )
        return answer

    def handle(self, order_id: str) -> WorkflowHandle[PurchaseWorkflow, str]:
        return self.client.get_workflow_handle_for(PurchaseWorkflow.run, order_id)

    async def update(self, order_id: str, name: str, arg: object) -> bool:
        """Send an update; False when the workflow refused it (its validator said no)."""
        try:
            await self.handle(order_id).execute_update(name, arg)
        except WorkflowUpdateFailedError:
            return False
        except RPCError as error:
            # The run has closed: the API answers this 409 too.
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            return False
        return True

    async def progress(self, order_id: str) -> OrderProgress:
        return await self.handle(order_id).query(PurchaseWorkflow.status)

    async def skip(self, seconds: float) -> None:
        await self.env.sleep(seconds)
