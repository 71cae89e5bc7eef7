"""Worker Deployments per build: a versioned release runs the current build's workers beside
those of each build still draining (workers.drainingBuilds), each set named and selected by its
build, so `helm upgrade` to a new build leaves the old one's pinned runs their workers."""

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

QUEUES = ("purchases", "payments", "fulfilment")


def versioned(current: str, *draining: dict[str, Any], tag: str = "new") -> dict[str, Any]:
    return {
        "image": {"repository": "registry.example/boxoffice", "tag": tag},
        "settings": {"WORKER_DEPLOYMENT_NAME": "boxoffice", "WORKER_BUILD_ID": current},
        "workers": {"drainingBuilds": list(draining)},
    }


def workers(found: list[Obj]) -> dict[str, Obj]:
    return {
        o["metadata"]["name"]: o
        for o in found
        if o["kind"] == "Deployment" and o["metadata"]["name"] != "boxoffice-api"
    }


def container(deployment: Obj) -> Obj:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    result: Obj = only
    return result


def env_values(deployment: Obj) -> list[tuple[str, str | None]]:
    return [(e["name"], e.get("value")) for e in container(deployment)["env"]]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_two_builds_run_six_worker_deployments_with_their_own_names_and_selectors(
    version: str,
) -> None:
    old = {"buildId": "2026-12-01.4fe8ad2", "imageTag": "2026-12-01", "replicas": {"payments": 2}}
    found = render_objects(versioned("2026-12-03_B55E248", old))
    assert [m for o in found for m in validation_errors(o, version)] == []
    deployments = workers(found)
    assert sorted(deployments) == sorted(
        f"boxoffice-worker-{queue}-{slug}"
        for queue in QUEUES
        for slug in ("2026-12-03-b55e248", "2026-12-01-4fe8ad2")
    )
    # No Deployment's selector takes another's pods: each queue and build is its own set.
    for name, deployment in deployments.items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        for other_name, other in deployments.items():
            pod_labels = other["spec"]["template"]["metadata"]["labels"]
            assert selects(selector, pod_labels) == (name == other_name), (name, other_name)
    for queue in QUEUES:
        current = deployments[f"boxoffice-worker-{queue}-2026-12-03-b55e248"]
        draining = deployments[f"boxoffice-worker-{queue}-2026-12-01-4fe8ad2"]
        assert container(current)["image"] == "registry.example/boxoffice:new"
        assert container(draining)["image"] == "registry.example/boxoffice:2026-12-01"
        # Each polls as its own build, named once in its environment.
        builds = [value for name, value in env_values(draining) if name == "WORKER_BUILD_ID"]
        assert builds == ["2026-12-01.4fe8ad2"]
        builds = [value for name, value in env_values(current) if name == "WORKER_BUILD_ID"]
        assert builds == ["2026-12-03_B55E248"]
        assert container(draining)["command"][:4] == ["boxoffice", "worker", "--queues", queue]
        # The full id, which the label cannot hold, is on the Deployment for operators.
        assert draining["metadata"]["annotations"]["boxoffice.io/build-id"] == "2026-12-01.4fe8ad2"
        assert draining["metadata"]["labels"]["boxoffice.io/build-state"] == "draining"
        assert current["metadata"]["labels"]["boxoffice.io/build-state"] == "current"
        # A draining build keeps small pools (1 each unless said), the current one the pools'.
        assert current["spec"]["replicas"] == 2
        assert draining["spec"]["replicas"] == (2 if queue == "payments" else 1)
    # Only the current build is registered by the hook; the draining ones were already.
    job = find(found, "Job", "boxoffice-register-build")
    job_env = dict(env_values(job))
    assert job_env["WORKER_BUILD_ID"] == "2026-12-03_B55E248"


def test_the_current_build_keeps_its_pods_when_it_becomes_a_draining_one() -> None:
    """The upgrade that makes build B current moves A to drainingBuilds: A's Deployments keep
    their names and pod templates (nothing restarts the pods serving A's pinned runs); only
    their replicas shrink."""
    before = workers(render_objects(versioned("a1", tag="tag-a")))
    after = workers(
        render_objects(versioned("b2", {"buildId": "a1", "imageTag": "tag-a"}, tag="tag-b"))
    )
    assert set(before) < set(after)
    for name, deployment in before.items():
        assert after[name]["spec"]["template"] == deployment["spec"]["template"], name
        assert after[name]["spec"]["selector"] == deployment["spec"]["selector"]
        assert after[name]["spec"]["replicas"] == 1


def test_an_unversioned_release_keeps_the_plain_names() -> None:
    assert sorted(workers(render_objects())) == sorted(f"boxoffice-worker-{q}" for q in QUEUES)


def refusal(values: dict[str, Any]) -> str:
    with pytest.raises(helm.HelmError) as refused:
        render(values)
    return str(refused.value)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            versioned("b2", {"buildId": "b2", "imageTag": "x"}),
            'drainingBuilds[0].buildId "b2" is the current build',
        ),
        (
            versioned("b2", {"buildId": "a1", "imageTag": "x"}, {"buildId": "a1", "imageTag": "y"}),
            'drainingBuilds[1].buildId "a1" is listed twice',
        ),
        (
            versioned("b2", {"buildId": "a1", "imageTag": "x"}, {"buildId": "a1", "imageTag": "x"}),
            "at '/workers/drainingBuilds': items at 0 and 1 are equal",
        ),
        (
            versioned("b2", {"buildId": "", "imageTag": "x"}),
            "buildId of the draining build (its WORKER_BUILD_ID), not empty",
        ),
        (versioned("b2", {"buildId": "..", "imageTag": "x"}), "does not match pattern"),
        (versioned("b2", {"buildId": "a1"}), "imageTag of the draining build"),
        (
            versioned("b2", {"buildId": "a1", "imageTag": "x", "replicas": {"payments": 0}}),
            "at '/workers/drainingBuilds/0/replicas/payments': minimum: got 0, want 1",
        ),
        (
            versioned(
                "b2", {"buildId": "A.1", "imageTag": "x"}, {"buildId": "a-1", "imageTag": "y"}
            ),
            'builds "A.1" and "a-1" would name their worker Deployments alike ("a-1")',
        ),
        (
            {"workers": {"drainingBuilds": [{"buildId": "a1", "imageTag": "x"}]}},
            "workers.drainingBuilds needs a versioned release",
        ),
    ],
)
def test_impossible_draining_builds_are_refused(values: dict[str, Any], expected: str) -> None:
    assert expected in refusal(values)
