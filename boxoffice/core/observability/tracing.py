"""Tracing with OpenTelemetry: one trace per purchase, from the HTTP request through
update-with-start, the workflow and each activity, to the Stripe (httpx), S3 (botocore) and SMTP
calls (a span of our own in `core/mail.py`).

On only when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set: then
spans go over OTLP/HTTP in batches, and the SDK reads the other `OTEL_*` variables itself
(service name, headers, sampler). Unset, nothing is instrumented and no interceptor is added,
so tracing costs nothing. Tests hand in a provider of their own instead (`configure_tracing`).

Span attributes pass through the same masking as log lines: a guest's token in the PDF link's
query string, an email or a card number never reaches a trace."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from boxoffice.core.observability.logging import mask_text

if TYPE_CHECKING:
    from fastapi import FastAPI
    from temporalio.contrib.opentelemetry import TracingInterceptor

# The instrumentations, the exporter and the interceptor are imported where they are used: a
# process with tracing off (and every workflow sandbox that imports `core.mail`) loads none.

#: Probes and scrapes would be most of the API's spans and tell nothing about a purchase.
UNTRACED_URLS = "/healthz,/readyz,/metrics"
#: The tracer (instrumentation scope) of the spans Temporal's interceptor makes.
TEMPORAL_TRACER = "temporalio"
log = logging.getLogger("boxoffice.tracing")

_provider: TracerProvider | None = None


def exporting_provider(
    service: str, environ: Mapping[str, str] = os.environ
) -> TracerProvider | None:
    """A provider exporting over OTLP/HTTP when an OTLP endpoint is set, else None. The service
    name is `OTEL_SERVICE_NAME` (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`), else
    `boxoffice-<service>`."""
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    disabled = environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    if not endpoint or disabled or environ.get("OTEL_TRACES_EXPORTER", "").strip() == "none":
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: f"boxoffice-{service}"}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def configure_tracing(service: str, provider: TracerProvider | None = None) -> bool:
    """Turn tracing on for this process: with `provider` (a test's), or with an OTLP exporter
    when the environment names an endpoint. Once per process; later calls keep the first
    provider. True when tracing is on."""
    global _provider
    if _provider is not None:
        return True
    if provider is None:
        provider = exporting_provider(service)
        if provider is None:
            return False
        # Global too, so any library that traces by itself reaches the same exporter.
        trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    provider.add_span_processor(MaskingSpanProcessor())
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    botocore = BotocoreInstrumentor()  # type: ignore[no-untyped-call]
    botocore.instrument(tracer_provider=provider)
    _provider = provider
    log.info("tracing on for %s", service)
    return True


def stop_tracing() -> None:
    """Tracing off again (the tests that turned it on): the outside calls go untraced, and
    clients and apps made from now on get no tracing."""
    global _provider
    if _provider is None:
        return
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    BotocoreInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    _provider.force_flush()
    _provider = None


def tracer(name: str) -> trace.Tracer:
    """A tracer of this process's provider; a no-op one while tracing is off."""
    if _provider is None:
        return trace.NoOpTracer()
    return _provider.get_tracer(name)


def temporal_interceptors() -> list[TracingInterceptor]:
    """For `Client.connect` (and a `Replayer`): a client that starts a workflow carries the
    current span in the workflow's headers, and a worker made from it traces the workflow and
    each activity.

    The contrib interceptor is sandbox-aware and makes no span while a workflow replays; its
    header is not run through our payload codec (a trace id is no secret)."""
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(_provider.get_tracer(TEMPORAL_TRACER))]


def instrument_app(app: FastAPI) -> None:
    """A server span per request, child of the caller's `traceparent` when it sends one. Must
    run before the app starts (it adds a middleware)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls=UNTRACED_URLS,
        # One span per request, not one more per ASGI message.
        exclude_spans=["receive", "send"],
    )


class MaskingSpanProcessor(SpanProcessor):
    """Masks string attributes as the logs do. Attributes a span is started with (the URL and
    its query among them) are masked here; later ones are set by the instrumentations from
    values that carry nothing personal (status codes, S3 keys, Stripe ids)."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        for key, value in (span.attributes or {}).items():
            if isinstance(value, str):
                masked = mask_text(value)
                if masked != value:
                    span.set_attribute(key, masked)

    def on_end(self, span: ReadableSpan) -> None:
        return None
