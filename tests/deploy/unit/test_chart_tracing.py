"""tracing.* values: the API's and the workers' pods get OpenTelemetry's standard variables,
which the code's exporter reads as they are (boxoffice/core/observability/tracing.py); the hook
Jobs get none, and nothing is set while no endpoint is."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.resources import SERVICE_NAME

from boxoffice.core.observability.tracing import exporting_provider
from tests.deploy.chart import KUBERNETES_VERSIONS, Obj, find, render_objects, validation_errors
from tests.deploy.unit.test_chart import env_of, pod_spec
from tests.deploy.unit.test_chart_values import refusal

TRACING: dict[str, Any] = {
    "image": {"repository": "boxoffice", "tag": "2026-12-03"},
    "tracing": {
        "otlpEndpoint": "http://otel-collector.observability:4318",
        "sampleRatio": 0.25,
        "headersSecret": {"name": "otel", "key": "headers"},
        "resourceAttributes": {"deployment.environment": "production"},
    },
}


def otel_env(obj: Obj) -> dict[str, Obj]:
    env = env_of(pod_spec(obj)["containers"][0])
    return {name: entry for name, entry in env.items() if name.startswith("OTEL_")}


def plain(env: dict[str, Obj]) -> dict[str, str]:
    return {name: entry["value"] for name, entry in env.items() if "value" in entry}


def test_no_endpoint_no_tracing_variables() -> None:
    for obj in render_objects():
        if obj["kind"] in ("Deployment", "Job"):
            assert otel_env(obj) == {}, obj["metadata"]["name"]


def test_api_and_workers_get_the_standard_variables_and_jobs_none() -> None:
    found = render_objects(TRACING)
    api = otel_env(find(found, "Deployment", "boxoffice-api"))
    assert plain(api) == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability:4318",
        "OTEL_SERVICE_NAME": "boxoffice-api",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=production,"
        "service.namespace=boxoffice,service.version=2026-12-03",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.25",
    }
    headers = api["OTEL_EXPORTER_OTLP_HEADERS"]["valueFrom"]["secretKeyRef"]
    assert headers == {"name": "otel", "key": "headers"}
    for queue in ("purchases", "payments", "fulfilment"):
        worker = otel_env(find(found, "Deployment", f"boxoffice-worker-{queue}"))
        assert plain(worker)["OTEL_SERVICE_NAME"] == "boxoffice-worker"
        assert set(worker) == set(api)
    for job in ("migrate", "temporal-setup"):
        assert otel_env(find(found, "Job", f"boxoffice-{job}")) == {}
    for obj in found:
        assert validation_errors(obj, KUBERNETES_VERSIONS[0]) == [], obj["metadata"]["name"]


def test_each_pod_names_the_version_it_runs() -> None:
    found = render_objects({**TRACING, "api": {"image": {"tag": "2026-12-01"}}})
    api = plain(otel_env(find(found, "Deployment", "boxoffice-api")))
    worker = plain(otel_env(find(found, "Deployment", "boxoffice-worker-payments")))
    assert api["OTEL_RESOURCE_ATTRIBUTES"].endswith("service.version=2026-12-01")
    assert worker["OTEL_RESOURCE_ATTRIBUTES"].endswith("service.version=2026-12-03")


def test_the_code_exports_under_the_rendered_service_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = plain(otel_env(find(render_objects(TRACING), "Deployment", "boxoffice-api")))
    for name, value in api.items():
        monkeypatch.setenv(name, value)
    provider = exporting_provider("api", api)
    assert provider is not None
    try:
        attributes = provider.resource.attributes
        assert attributes[SERVICE_NAME] == "boxoffice-api"
        assert attributes["service.version"] == "2026-12-03"
        assert attributes["deployment.environment"] == "production"
    finally:
        provider.shutdown()


@pytest.mark.parametrize(
    ("tracing", "expected"),
    [
        ({"otlpEndpoint": "otel-collector:4318"}, "at '/tracing/otlpEndpoint'"),
        ({"sampleRatio": 2}, "at '/tracing/sampleRatio': maximum"),
        ({"headersSecret": {"name": "otel"}}, "at '/tracing/headersSecret/key': minLength"),
        ({"resourceAttributes": {"team": "a,b"}}, "at '/tracing/resourceAttributes/team'"),
        ({"serviceName": "shop"}, "additional properties 'serviceName' not allowed"),
    ],
)
def test_impossible_tracing_values_are_refused(tracing: dict[str, Any], expected: str) -> None:
    assert expected in refusal({"tracing": tracing})


def test_a_variable_set_twice_is_refused() -> None:
    message = refusal(
        {
            "tracing": {"otlpEndpoint": "http://collector:4318"},
            "extraEnv": [{"name": "OTEL_SERVICE_NAME", "value": "shop"}],
        }
    )
    assert "extraEnv sets OTEL_SERVICE_NAME, which tracing.* sets" in message
