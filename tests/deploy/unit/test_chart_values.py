"""Values the chart refuses, each with a message that says what to do (Helm's engine applies
values.schema.json, then the templates' own checks); and the chart's settings kept in step with
boxoffice/core/settings.py and docker-compose.yml."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.deploy.chart import (
    CHART_DIR,
    OPTIONAL_SECRET_SETTINGS,
    ROOT,
    SECRET_SETTINGS,
    render,
    settings_schemas,
)

_OUTSIDE = ("AWS_", "OTEL_")


def refusal(values: dict[str, Any]) -> str:
    with pytest.raises(helm.HelmError) as refused:
        render(values)
    return str(refused.value)


@pytest.mark.parametrize("queue", ["purchases", "payments", "fulfilment"])
def test_a_queue_without_replicas_is_refused(queue: str) -> None:
    message = refusal({"workers": {queue: {"replicas": 0}}})
    assert f"at '/workers/{queue}/replicas': minimum: got 0, want 1" in message
    assert f"every purchase passes through the {queue} queue" in message


def test_a_queue_left_out_is_refused() -> None:
    message = refusal({"workers": {"payments": None}})
    assert "missing property 'payments'" in message


@pytest.mark.parametrize("address", [None, ""])
def test_a_missing_temporal_address_is_refused(address: str | None) -> None:
    message = refusal({"settings": {"TEMPORAL_ADDRESS": address}})
    assert "TEMPORAL_ADDRESS, the frontend (host:port) of an existing Temporal" in message
    assert "temporal.enabled=true" in message


@pytest.mark.parametrize("name", [None, ""])
def test_an_unset_secret_name_is_refused(name: str | None) -> None:
    message = refusal({"secret": {"name": name}})
    assert "name of the existing Secret holding DATABASE_URL" in message


@pytest.mark.parametrize("secret", sorted(SECRET_SETTINGS | OPTIONAL_SECRET_SETTINGS))
def test_a_secret_given_as_a_value_is_refused(secret: str) -> None:
    message = refusal({"settings": {secret: "not-here"}})
    assert f"{secret} is a secret: a key of the Secret named by secret.name" in message


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"terminationGracePeriodSeconds": 45}, "longest activity timeout (60 s"),
        (
            {"terminationGracePeriodSeconds": 100, "settings": {"STEP_TIMEOUT_SECONDS": 120}},
            "terminationGracePeriodSeconds (100) must be longer than the longest activity "
            "timeout (120 s",
        ),
        (
            {"terminationGracePeriodSeconds": 60, "settings": {"PAYMENT_TIMEOUT_SECONDS": 90}},
            "PAYMENT_TIMEOUT_SECONDS 90",
        ),
    ],
)
def test_a_grace_period_shorter_than_an_activity_is_refused(
    values: dict[str, Any], expected: str
) -> None:
    assert expected in refusal(values)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"settings": {"HOLD_SECOND": 60}}, "additional properties 'HOLD_SECOND' not allowed"),
        ({"settings": {"HOLD_SECONDS": 0}}, "at '/settings/HOLD_SECONDS': minimum"),
        ({"settings": {"AUTH_MODE": "basic"}}, "at '/settings/AUTH_MODE'"),
        ({"settings": {"AUTH_MODE": "oidc"}}, "missing properties 'OIDC_ISSUER', 'OIDC_AUDIENCE'"),
        ({"settings": {"METRICS_PORT": 0}}, "at '/settings/METRICS_PORT': minimum"),
        ({"settings": {"METRICS_HOST": "127.0.0.1"}}, "at '/settings/METRICS_HOST'"),
        ({"workers": {"billing": {"replicas": 1}}}, "additional properties 'billing'"),
        ({"api": {"autoscaling": {"minReplicas": 0}}}, "minReplicas': minimum"),
        ({"api": {"autoscaling": {"minReplicas": 5, "maxReplicas": 3}}}, "is more than"),
    ],
)
def test_other_impossible_values_are_refused(values: dict[str, Any], expected: str) -> None:
    assert expected in refusal(values)


def test_oidc_with_its_issuer_renders_and_auth_secret_becomes_optional() -> None:
    oidc = {"AUTH_MODE": "oidc", "OIDC_ISSUER": "https://id.example", "OIDC_AUDIENCE": "shop"}
    rendered = render({"settings": oidc})
    api = yaml.safe_load(rendered["boxoffice/templates/api-deployment.yaml"])
    env = {e["name"]: e for e in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AUTH_SECRET"]["valueFrom"]["secretKeyRef"]["optional"] is True


def test_the_schema_knows_every_setting_with_its_type_and_bounds() -> None:
    """A setting added to settings.py must be added to values.schema.json (settings.properties)
    with at least pydantic's type and bounds; the schema may be stricter where the chart needs."""
    schema = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
    in_schema = schema["properties"]["settings"]["properties"]
    expected = settings_schemas()
    missing = {name: expected[name] for name in sorted(set(expected) - set(in_schema))}
    assert missing == {}, f"add to values.schema.json settings.properties: {json.dumps(missing)}"
    assert sorted(set(in_schema) - set(expected)) == [], "the schema names unknown settings"
    for name, wanted in expected.items():
        have = {key: in_schema[name][key] for key in wanted if key in in_schema[name]}
        stricter = name == "METRICS_PORT" and have.get("minimum") == 1
        assert have == wanted or stricter, name


def test_compose_uses_the_chart_image_and_setting_names() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    image = compose["services"]["api"]["image"].split(":")[0]
    assert image == values["image"]["repository"]
    known = set(settings_schemas()) | SECRET_SETTINGS
    # Read by libraries, not by settings.py: boto3's credentials, OpenTelemetry's exporter.
    compose_env = {name for name in compose["x-boxoffice-env"] if not name.startswith(_OUTSIDE)}
    assert compose_env - known == set(), "compose sets a variable settings.py lacks"
    assert set(values["settings"]) <= compose_env | known
    # The compose worker runs the chart's command, all queues in one pool.
    assert compose["services"]["worker"]["command"][:3] == ["boxoffice", "worker", "--queues"]
    assert re.fullmatch(
        r"boxoffice db upgrade --wait \d+ && boxoffice temporal setup --wait \d+",
        compose["services"]["migrate"]["command"][-1],
    )
