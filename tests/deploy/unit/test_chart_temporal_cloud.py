"""The chart against a Temporal that wants TLS (Temporal Cloud): a client certificate from an
existing Secret mounted into every pod, or the API key read from the release's Secret; and the
setup Job that also creates the reconciliation Schedule."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.deploy.chart import (
    KUBERNETES_VERSIONS,
    Obj,
    find,
    render,
    render_objects,
    validation_errors,
)

CLOUD_CERT: dict[str, Any] = {
    "temporalTls": {"secretName": "temporal-client", "caKey": "ca.crt"},
    "settings": {
        "TEMPORAL_ADDRESS": "shop.a1b2c.tmprl.cloud:7233",
        "TEMPORAL_NAMESPACE": "shop.a1b2c",
        # Given here as well: the chart's mounted paths replace it, never a second entry.
        "TEMPORAL_TLS_CERT_FILE": "/elsewhere/cert.pem",
    },
}


def pods(found: list[Obj]) -> list[Obj]:
    return [o for o in found if o["kind"] in ("Deployment", "Job")]


def only_container(obj: Obj) -> Obj:
    (container,) = obj["spec"]["template"]["spec"]["containers"]
    result: Obj = container
    return result


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_a_client_certificate_secret_is_mounted_into_every_pod(version: str) -> None:
    found = render_objects(CLOUD_CERT)
    assert [m for o in found for m in validation_errors(o, version)] == []
    for obj in pods(found):
        name = obj["metadata"]["name"]
        volumes = {v["name"]: v for v in obj["spec"]["template"]["spec"]["volumes"]}
        assert volumes["temporal-tls"]["secret"]["secretName"] == "temporal-client", name
        container = only_container(obj)
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["temporal-tls"] == {
            "name": "temporal-tls",
            "mountPath": "/etc/boxoffice/temporal-tls",
            "readOnly": True,
        }
        env = [(e["name"], e.get("value")) for e in container["env"]]
        tls = [(n, v) for n, v in env if n.startswith("TEMPORAL_TLS_")]
        assert sorted(tls) == [
            ("TEMPORAL_TLS_CA_FILE", "/etc/boxoffice/temporal-tls/ca.crt"),
            ("TEMPORAL_TLS_CERT_FILE", "/etc/boxoffice/temporal-tls/tls.crt"),
            ("TEMPORAL_TLS_KEY_FILE", "/etc/boxoffice/temporal-tls/tls.key"),
        ], name


def test_without_a_certificate_secret_nothing_is_mounted() -> None:
    for obj in pods(render_objects()):
        container = only_container(obj)
        assert "temporal-tls" not in {m["name"] for m in container["volumeMounts"]}
        assert not [e for e in container["env"] if e["name"].startswith("TEMPORAL_TLS_")]


def test_the_api_key_comes_from_the_secret_when_it_holds_one() -> None:
    for obj in pods(render_objects({"secret": {"name": "shop"}})):
        env = {e["name"]: e for e in only_container(obj)["env"]}
        assert env["TEMPORAL_API_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": "shop",
            "key": "TEMPORAL_API_KEY",
            "optional": True,
        }


def setup_command(values: dict[str, Any] | None = None) -> list[str]:
    job = find(render_objects(values), "Job", "boxoffice-temporal-setup")
    command: list[str] = only_container(job)["command"]
    return command


def test_the_setup_job_creates_the_reconciliation_schedule() -> None:
    assert setup_command() == [
        *("boxoffice", "temporal", "setup", "--wait", "180"),
        *("--reconcile-hour", "3", "--reconcile-fix"),
    ]
    report_only = {"temporalSetup": {"reconciliation": {"hour": 0, "fix": False}}}
    assert setup_command(report_only)[-3:] == ["--reconcile-hour", "0", "--reconcile-report-only"]
    without = {"temporalSetup": {"reconciliation": {"schedule": False}}}
    assert setup_command(without)[-1] == "--no-reconcile-schedule"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"temporalSetup": {"reconciliation": {"hour": 24}}}, "reconciliation/hour': maximum"),
        ({"temporalTls": {"mountPath": "relative"}}, "/temporalTls/mountPath"),
        (
            {"settings": {"TEMPORAL_API_KEY": "k"}},
            "TEMPORAL_API_KEY is a secret: a key of the Secret named by secret.name",
        ),
    ],
)
def test_impossible_temporal_values_are_refused(values: dict[str, Any], expected: str) -> None:
    with pytest.raises(helm.HelmError) as refused:
        render(values)
    assert expected in str(refused.value)
