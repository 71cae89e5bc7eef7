"""Tracing on the real stack: a purchase over HTTP is one connected trace, from the API's span
through the workflow start, the workflow and each activity to the Stripe, S3 and SMTP calls.

The session's stack runs without tracing, so this test brings its own API and workers (on task
queues of their own), with tracing turned on for an in-memory exporter."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

import httpx
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.worker import Replayer

from boxoffice.core.observability.tracing import (
    configure_tracing,
    stop_tracing,
    temporal_interceptors,
)
from boxoffice.core.temporal.client import connect
from boxoffice.worker import PURCHASES_WORKFLOWS, QUEUE_KINDS, build_workers, running
from tests.conftest import ApiServer, Stack, stack_settings
from tests.core.spans import temporal_spans
from tests.purchases import create_event, order_body, wait_for_status

#: The pipeline of a paid purchase, each activity on its worker.
PIPELINE = (
    "reserve_seats",
    "charge_payment",
    "issue_tickets",
    "store_tickets_pdf",
    "email_tickets",
)


class Trace:
    """The spans of one trace, with the links between them."""

    def __init__(self, spans: Sequence[ReadableSpan]) -> None:
        self.spans = list(spans)
        self.by_id = {span.context.span_id: span for span in self.spans}

    def named(self, name: str) -> ReadableSpan:
        found = [span for span in self.spans if span.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {self.names()}"
        return found[0]

    def parent(self, span: ReadableSpan) -> ReadableSpan:
        assert span.parent is not None, f"{span.name} has no parent"
        parent = self.by_id.get(span.parent.span_id)
        assert parent is not None, f"{span.name}'s parent is not in the trace"
        return parent

    def ancestors(self, span: ReadableSpan) -> list[str]:
        names = []
        while span.parent is not None and span.parent.span_id in self.by_id:
            span = self.by_id[span.parent.span_id]
            names.append(span.name)
        return names

    def names(self) -> list[str]:
        return sorted(span.name for span in self.spans)

    def children(self, span: ReadableSpan) -> list[ReadableSpan]:
        return [s for s in self.spans if s.parent and s.parent.span_id == span.context.span_id]


def _purchase_trace(exporter: InMemorySpanExporter, wanted: set[str], within: float) -> Trace:
    """The trace of the one `POST /orders` the exporter saw, once it has every wanted span
    (an activity's span ends a moment after the order's status says it is done)."""
    deadline = time.monotonic() + within
    while True:
        spans = exporter.get_finished_spans()
        roots = [s for s in spans if s.name == "POST /orders" and s.kind == SpanKind.SERVER]
        assert len(roots) <= 1
        if roots:
            trace = Trace([s for s in spans if s.context.trace_id == roots[0].context.trace_id])
            if wanted <= set(trace.names()) or time.monotonic() > deadline:
                return trace
        assert time.monotonic() < deadline, "the API made no span for POST /orders"
        time.sleep(0.1)


async def test_a_purchase_is_one_connected_trace(stack: Stack) -> None:
    async with stack.http() as staff:
        event = await create_event(staff)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    run = uuid.uuid4().hex[:8]
    settings = stack_settings(
        stack.services,
        task_queue_purchases=f"purchases-traced-{run}",
        task_queue_payments=f"payments-traced-{run}",
        task_queue_fulfilment=f"fulfilment-traced-{run}",
    )
    assert configure_tracing("test", provider)
    try:
        client = await connect(settings)
        workers = build_workers(client, settings, QUEUE_KINDS, stack.sessions)
        async with running(workers):
            with ApiServer(settings) as api:
                async with httpx.AsyncClient(
                    base_url=api.url, trust_env=False, timeout=60
                ) as guest:
                    created = await guest.post("/orders", json=order_body(event, 1, "pm_card_visa"))
                    assert created.status_code == 201, created.text
                    order_id = created.json()["id"]
                    guest.headers["X-Order-Token"] = created.json()["access_token"]
                    await wait_for_status(guest, order_id, "completed", within=30)
                wanted = {f"RunActivity:{name}" for name in PIPELINE} | {"smtp send"}
                trace = await asyncio.to_thread(_purchase_trace, exporter, wanted, 10)
        history = await client.get_workflow_handle(order_id).fetch_history()
        before = len(exporter.get_finished_spans())
        replayer = Replayer(
            workflows=PURCHASES_WORKFLOWS,
            data_converter=client.data_converter,
            interceptors=temporal_interceptors(),
        )
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    finally:
        stop_tracing()

    # The API's span, the workflow start it made (it then takes the seats itself, which the
    # run adopts: orders/creation.py), and the workflow run under it.
    http = trace.named("POST /orders")
    start = trace.named("StartWorkflow:PurchaseWorkflow")
    assert trace.parent(start) is http
    workflow_run = trace.named("RunWorkflow:PurchaseWorkflow")
    assert trace.parent(workflow_run) is start
    # Each activity of the pipeline: run by a worker under the workflow's span that started it,
    # the whole way up to the HTTP request.
    for name in PIPELINE:
        ran = trace.named(f"RunActivity:{name}")
        assert trace.parent(ran).name == f"StartActivity:{name}"
        assert ran.attributes is not None
        assert ran.attributes["temporalWorkflowID"] == order_id
        assert {start.name, http.name} <= set(trace.ancestors(ran)), trace.ancestors(ran)
    # The outside calls, each a client span inside the activity that made it.
    stripe_calls = [
        s
        for s in trace.children(trace.named("RunActivity:charge_payment"))
        if s.kind == SpanKind.CLIENT and _url(s).startswith(stack.services.stripe_base)
    ]
    assert stripe_calls, trace.names()
    assert any("/v1/payment_intents" in _url(s) for s in stripe_calls)
    put = trace.named("S3.PutObject")
    assert trace.parent(put) is trace.named("RunActivity:store_tickets_pdf")
    mail = trace.named("smtp send")
    assert trace.parent(mail) is trace.named("RunActivity:email_tickets")
    assert mail.kind == SpanKind.CLIENT
    # One trace: apart from the test's own call, every span of it descends from the request.
    callers = {s.name for s in trace.spans if s.context.span_id in _span_ids_above(trace, http)}
    strays = [
        s.name
        for s in trace.spans
        if s is not http and s.name not in callers and http.name not in trace.ancestors(s)
    ]
    assert not strays, strays
    # The traced run replays with the interceptor in place, and replaying makes no span (the
    # live run's spans show that the interceptor's spans are the ones looked for).
    assert replayed.replay_failure is None
    assert "RunWorkflow:PurchaseWorkflow" in temporal_spans(trace.spans)
    assert not temporal_spans(exporter.get_finished_spans()[before:])


def _span_ids_above(trace: Trace, span: ReadableSpan) -> set[int]:
    ids = set()
    while span.parent is not None and span.parent.span_id in trace.by_id:
        ids.add(span.parent.span_id)
        span = trace.by_id[span.parent.span_id]
    return ids


def _url(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("url.full") or attributes.get("http.url") or "")
