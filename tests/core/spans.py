"""What the tracing tests look for among the spans an in-memory exporter saw."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan

from boxoffice.core.observability.tracing import TEMPORAL_TRACER


def temporal_spans(spans: Sequence[ReadableSpan]) -> list[str]:
    """The names of the spans Temporal's interceptor made among `spans`. Only those can come
    from a replay: the session's workers share the test process and its instrumented httpx and
    botocore, so an earlier test's order checking its payment meanwhile makes spans too."""
    return [
        span.name
        for span in spans
        if span.instrumentation_scope and span.instrumentation_scope.name == TEMPORAL_TRACER
    ]
