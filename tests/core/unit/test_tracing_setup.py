"""When tracing is on (an OTLP endpoint in the environment), what its spans are called, and
that their attributes are masked like log lines."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan

from boxoffice.core.observability.tracing import (
    MaskingSpanProcessor,
    exporting_provider,
    temporal_interceptors,
    tracer,
)


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": ""},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_SDK_DISABLED": "true"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_TRACES_EXPORTER": "none"},
    ],
)
def test_no_endpoint_or_turned_off_means_no_tracing(environ: dict[str, str]) -> None:
    assert exporting_provider("api", environ) is None


def test_while_tracing_is_off_nothing_is_added() -> None:
    assert temporal_interceptors() == []
    with tracer("boxoffice.test").start_as_current_span("smtp send") as span:
        assert isinstance(span, NonRecordingSpan)


def test_an_endpoint_turns_on_an_exporter_named_after_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/")
    provider = exporting_provider("worker")
    assert provider is not None
    try:
        assert provider.resource.attributes[SERVICE_NAME] == "boxoffice-worker"
    finally:
        provider.shutdown()

    monkeypatch.setenv("OTEL_SERVICE_NAME", "tickets-eu-1")
    provider = exporting_provider("worker")
    assert provider is not None
    try:
        assert provider.resource.attributes[SERVICE_NAME] == "tickets-eu-1"
    finally:
        provider.shutdown()


def test_span_attributes_are_masked_like_log_lines() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(MaskingSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    attributes: dict[str, str | int] = {
        "url.query": "token=bxo_c2VjcmV0LXRva2Vu",
        "url.path": "/orders/ord_1/tickets.pdf",
        "note": "ada.lovelace@example.com paid with 4242 4242 4242 4242",
        "http.response.status_code": 200,
    }
    provider.get_tracer("test").start_span("GET /orders", attributes=attributes).end()

    (span,) = exporter.get_finished_spans()
    assert span.attributes == {
        "url.query": "token=bxo_***",
        "url.path": "/orders/ord_1/tickets.pdf",
        "note": "a***@example.com paid with ****4242",
        "http.response.status_code": 200,
    }
