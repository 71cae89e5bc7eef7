"""The Helm chart rendered by Helm's own engine (helm-python-sdk, no cluster) and every object
checked against Kubernetes' schemas: the defaults, the bundled Temporal, the options."""

from __future__ import annotations

from functools import cache
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.deploy.chart import (
    CHART_DIR,
    KUBERNETES_VERSIONS,
    OPERATOR_KINDS,
    SECRET_SETTINGS,
    Obj,
    find,
    render_objects,
    validation_errors,
)

QUEUES = ("purchases", "payments", "fulfilment")


def _datastore(database: str) -> dict[str, Any]:
    return {
        "sql": {
            "pluginName": "postgres12",
            "databaseName": database,
            "connectAddr": "temporal-postgres:5432",
            "connectProtocol": "tcp",
            "user": "temporal",
            "existingSecret": "temporal-db",
            "secretKey": "password",
        }
    }


#: The official Temporal chart with the release, on its own PostgreSQL (its README's minimum).
BUNDLED_TEMPORAL: dict[str, Any] = {
    "temporal": {
        "enabled": True,
        "server": {
            "config": {
                "persistence": {
                    "defaultStore": "default",
                    "visibilityStore": "visibility",
                    "numHistoryShards": 512,
                    "datastores": {
                        "default": _datastore("temporal"),
                        "visibility": _datastore("temporal_visibility"),
                    },
                }
            }
        },
    },
    "settings": {"TEMPORAL_ADDRESS": None},
}


@cache
def _defaults() -> tuple[Obj, ...]:
    return tuple(render_objects())


def defaults() -> list[Obj]:
    return list(_defaults())


def env_of(container: Obj) -> dict[str, Obj]:
    return {entry["name"]: entry for entry in container["env"]}


def pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_default_object_is_valid_kubernetes(version: str) -> None:
    found = defaults()
    errors = [
        f"{obj['kind']} {obj['metadata']['name']}: {message}"
        for obj in found
        for message in validation_errors(obj, version)
    ]
    assert errors == []
    assert {(o["kind"], o["metadata"]["name"]) for o in found} == {
        ("Deployment", "boxoffice-api"),
        ("Service", "boxoffice-api"),
        ("HorizontalPodAutoscaler", "boxoffice-api"),
        ("PodDisruptionBudget", "boxoffice-api"),
        ("ServiceAccount", "boxoffice"),
        ("Job", "boxoffice-migrate"),
        ("Job", "boxoffice-temporal-setup"),
        *(("Deployment", f"boxoffice-worker-{queue}") for queue in QUEUES),
    }


def test_bundled_temporal_renders_offline_and_is_valid() -> None:
    """The vendored official chart (charts/) renders with the release, and the workers are
    pointed at its frontend; the registration waits until after install for it to exist."""
    found = render_objects(BUNDLED_TEMPORAL | {"metrics": {"serviceMonitor": {"enabled": True}}})
    errors = [
        f"{obj['kind']} {obj['metadata']['name']}: {message}"
        for obj in found
        if obj["kind"] not in OPERATOR_KINDS
        for message in validation_errors(obj, KUBERNETES_VERSIONS[0])
    ]
    assert errors == []
    frontend = find(found, "Service", "boxoffice-temporal-frontend")
    assert 7233 in [port["port"] for port in frontend["spec"]["ports"]]
    worker = find(found, "Deployment", "boxoffice-worker-payments")
    address = env_of(pod_spec(worker)["containers"][0])["TEMPORAL_ADDRESS"]
    assert address["value"] == "boxoffice-temporal-frontend:7233"
    setup = find(found, "Job", "boxoffice-temporal-setup")
    assert setup["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"


def test_one_worker_deployment_per_queue_with_its_own_replicas_and_resources() -> None:
    values = {
        "workers": {
            "purchases": {"replicas": 3, "processes": 2},
            "payments": {"replicas": 1, "resources": {"requests": {"cpu": "2"}}},
            "fulfilment": {"replicas": 5},
        }
    }
    found = render_objects(values)
    for queue, replicas in (("purchases", 3), ("payments", 1), ("fulfilment", 5)):
        deployment = find(found, "Deployment", f"boxoffice-worker-{queue}")
        assert deployment["spec"]["replicas"] == replicas
        command = pod_spec(deployment)["containers"][0]["command"]
        assert command[:4] == ["boxoffice", "worker", "--queues", queue]
    purchases = pod_spec(find(found, "Deployment", "boxoffice-worker-purchases"))
    assert purchases["containers"][0]["command"][-2:] == ["--processes", "2"]
    payments = pod_spec(find(found, "Deployment", "boxoffice-worker-payments"))
    assert payments["containers"][0]["resources"]["requests"]["cpu"] == "2"


def test_settings_are_env_and_secrets_come_from_the_named_secret_only() -> None:
    found = render_objects(
        {
            "secret": {"name": "shop-secrets"},
            "settings": {"HOLD_SECONDS": 600, "ORDER_GRACE_SECONDS": 1_000_000},
        }
    )
    for obj in found:
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        env = env_of(pod_spec(obj)["containers"][0])
        assert env["HOLD_SECONDS"]["value"] == "600"
        # Helm reads numbers as floats; a large one must not reach pydantic as 1e+06.
        assert env["ORDER_GRACE_SECONDS"]["value"] == "1000000"
        assert env["METRICS_HOST"]["value"] == "0.0.0.0"
        for name in SECRET_SETTINGS:
            reference = env[name]["valueFrom"]["secretKeyRef"]
            assert reference["name"] == "shop-secrets"
            assert reference["key"] == name
            # AUTH_SECRET is required too under the default AUTH_MODE=hs256.
            assert reference.get("optional", False) is False
    # No secret value anywhere in what Helm stores for the release.
    assert "kind: Secret" not in yaml.safe_dump_all(found)


def test_api_probes_autoscaler_and_disruption_budget() -> None:
    found = defaults()
    api = pod_spec(find(found, "Deployment", "boxoffice-api"))
    container = api["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    hpa = find(found, "HorizontalPodAutoscaler", "boxoffice-api")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "boxoffice-api"
    assert "replicas" not in find(found, "Deployment", "boxoffice-api")["spec"]
    pdb = find(found, "PodDisruptionBudget", "boxoffice-api")
    assert pdb["spec"]["selector"]["matchLabels"] == api_selector(found)


def api_selector(found: list[Obj]) -> dict[str, str]:
    labels: dict[str, str] = find(found, "Deployment", "boxoffice-api")["spec"]["selector"][
        "matchLabels"
    ]
    return labels


def test_workers_are_probed_on_their_metrics_port_and_scraped() -> None:
    for queue in QUEUES:
        worker = find(defaults(), "Deployment", f"boxoffice-worker-{queue}")
        container = pod_spec(worker)["containers"][0]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports == {"metrics": 9100, "sdk-metrics": 9464}
        assert container["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
        assert container["readinessProbe"]["tcpSocket"] == {"port": "metrics"}
        annotations = worker["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == "9100"


def test_pods_run_as_non_root_on_a_read_only_root_filesystem() -> None:
    for obj in defaults():
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        spec = pod_spec(obj)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
            mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert {"/data", "/tmp"} <= mounts


def test_grace_period_outlasts_the_longest_activity_timeout() -> None:
    settings = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))["settings"]
    longest = max(settings["STEP_TIMEOUT_SECONDS"], settings["PAYMENT_TIMEOUT_SECONDS"])
    for obj in defaults():
        if obj["kind"] == "Deployment":
            assert pod_spec(obj)["terminationGracePeriodSeconds"] > longest


def test_migrations_and_registration_are_hooks_before_the_new_pods() -> None:
    found = defaults()
    migrate = find(found, "Job", "boxoffice-migrate")
    setup = find(found, "Job", "boxoffice-temporal-setup")
    for job, command in ((migrate, ["db", "upgrade"]), (setup, ["temporal", "setup"])):
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
        spec = pod_spec(job)
        assert spec["restartPolicy"] == "Never"
        # Hooks run before the chart's ServiceAccount exists on a first install.
        assert "serviceAccountName" not in spec
        assert spec["containers"][0]["command"][1:3] == command
    weights = [int(j["metadata"]["annotations"]["helm.sh/hook-weight"]) for j in (migrate, setup)]
    assert weights[0] < weights[1]


def test_service_monitor_and_pod_monitor_behind_a_value() -> None:
    assert not [o for o in defaults() if o["kind"] in OPERATOR_KINDS]
    found = render_objects({"metrics": {"serviceMonitor": {"enabled": True}}})
    service_monitor = find(found, "ServiceMonitor", "boxoffice-api")
    assert service_monitor["spec"]["selector"]["matchLabels"] == api_selector(found)
    assert service_monitor["spec"]["endpoints"][0]["port"] == "http"
    pod_monitor = find(found, "PodMonitor", "boxoffice-workers")
    ports = [endpoint["port"] for endpoint in pod_monitor["spec"]["podMetricsEndpoints"]]
    assert ports == ["metrics", "sdk-metrics"]
    selector = pod_monitor["spec"]["selector"]["matchLabels"]
    for queue in QUEUES:
        labels = find(found, "Deployment", f"boxoffice-worker-{queue}")["spec"]["template"]
        assert selector.items() <= labels["metadata"]["labels"].items()


def test_helm_lint_finds_nothing_and_the_vendored_temporal_chart_is_in_place() -> None:
    report = helm.lint(CHART_DIR, strict=True, kube_version=f"v{KUBERNETES_VERSIONS[0]}")
    # Severity 1 is information ("icon is recommended"); 2 and 3 are warnings and errors.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []
    assert helm.dependency_list(CHART_DIR) == [
        {
            "name": "temporal",
            "version": "1.6.0",
            "repository": "https://go.temporal.io/helm-charts",
            "status": "ok",
        }
    ]
