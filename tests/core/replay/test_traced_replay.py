"""Workers with tracing on replay saved histories: the tracing interceptor runs beside the
payload codec, outside the SDK's sandbox as the workers run it and inside it as the replay tier
does, and makes no span while a workflow replays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from boxoffice.core.observability.tracing import (
    configure_tracing,
    stop_tracing,
    temporal_interceptors,
)
from boxoffice.core.temporal.encryption.codec import encrypting_data_converter
from boxoffice.core.temporal.encryption.keys import KeyRing
from boxoffice.worker import PURCHASES_WORKFLOWS
from tests.core.spans import temporal_spans
from tests.orders.replay.test_replay import HISTORIES, load

#: A run of each kind (the replay tier replays every history without tracing): the paths with
#: the most handlers, timers, retries and compensation in them.
TRACED_PATHS = (
    "paid",
    "declined_then_paid",
    "expired",
    "refunded",
    "three_d_secure",
    "hold_extended",
    "needs_attention_retried",
    "resent",
    "addons_completed",
    "late_payment_refunded",
    "event_cancellation",
    "event_postponement",
)


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert configure_tracing("test", provider)
    try:
        yield exporter
    finally:
        stop_tracing()


@pytest.mark.parametrize(
    "runner",
    [UnsandboxedWorkflowRunner(), SandboxedWorkflowRunner()],
    ids=["as-workers-run", "sandboxed"],
)
async def test_histories_replay_with_tracing_on(
    exporter: InMemorySpanExporter, runner: WorkflowRunner
) -> None:
    interceptors = temporal_interceptors()
    assert interceptors, "tracing on, yet no interceptor"
    replayer = Replayer(
        workflows=PURCHASES_WORKFLOWS,
        data_converter=encrypting_data_converter(KeyRing({"replay": bytes(32)}, "replay")),
        interceptors=interceptors,
        workflow_runner=runner,
    )
    failures = {}
    for name in TRACED_PATHS:
        history = load(HISTORIES / f"{name}.json")
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures[name] = str(result.replay_failure)

    assert not failures
    assert not temporal_spans(exporter.get_finished_spans())
