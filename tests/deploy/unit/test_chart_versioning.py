"""A versioned release (settings.WORKER_DEPLOYMENT_NAME and WORKER_BUILD_ID): the chart
registers the build in a hook Job before the workers start, and refuses one setting alone."""

from __future__ import annotations

import helm_python as helm
import pytest

from tests.deploy.chart import Obj, find, render, render_objects

VERSIONED = {"settings": {"WORKER_DEPLOYMENT_NAME": "boxoffice", "WORKER_BUILD_ID": "abc123"}}


def test_a_versioned_release_registers_its_build_before_the_workers_start() -> None:
    found = render_objects(VERSIONED)
    job = find(found, "Job", "boxoffice-register-build")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["boxoffice", "worker", "--register-build"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["WORKER_BUILD_ID"] == "abc123"
    worker = find(found, "Deployment", "boxoffice-worker-purchases-abc123")
    (worker_container,) = worker["spec"]["template"]["spec"]["containers"]
    worker_env = {e["name"]: e.get("value") for e in worker_container["env"]}
    assert worker_env["WORKER_DEPLOYMENT_NAME"] == "boxoffice"
    assert worker_env["WORKER_BUILD_ID"] == "abc123"


def test_an_unversioned_release_has_no_registration() -> None:
    assert not [o for o in render_objects() if o["metadata"]["name"].endswith("register-build")]


@pytest.mark.parametrize("alone", ["WORKER_DEPLOYMENT_NAME", "WORKER_BUILD_ID"])
def test_one_of_the_two_alone_is_refused(alone: str) -> None:
    with pytest.raises(helm.HelmError) as refused:
        render({"settings": {alone: "x"}})
    assert "set both" in str(refused.value)


def images(found: list[Obj]) -> dict[str, str]:
    """Image of each Deployment and Job, by name."""
    return {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["image"]
        for o in found
        if o["kind"] in ("Deployment", "Job")
    }


def test_the_api_runs_the_shared_image_unless_it_has_a_tag_of_its_own() -> None:
    shared = {"image": {"repository": "registry.example/boxoffice", "tag": "new"}}
    default = images(render_objects(shared))
    assert set(default.values()) == {"registry.example/boxoffice:new"}
    assert "boxoffice-api" in default

    held_back = images(render_objects({**shared, "api": {"image": {"tag": "old"}}}))
    assert held_back.pop("boxoffice-api") == "registry.example/boxoffice:old"
    # The workers and the hook Jobs (migrations, build registration) move on without it.
    assert set(held_back.values()) == {"registry.example/boxoffice:new"}
    assert {"boxoffice-migrate", "boxoffice-worker-payments"} <= set(held_back)


def test_a_versioned_rollout_holds_the_api_on_the_draining_build() -> None:
    values = {
        **VERSIONED,
        "image": {"repository": "boxoffice", "tag": "abc123"},
        "api": {"image": {"tag": "old1"}},
        "workers": {"drainingBuilds": [{"buildId": "old1", "imageTag": "old1"}]},
    }
    found = images(render_objects(values))
    assert found["boxoffice-api"] == "boxoffice:old1"
    assert found["boxoffice-worker-payments-abc123"] == "boxoffice:abc123"
    assert found["boxoffice-worker-payments-old1"] == "boxoffice:old1"
    assert found["boxoffice-register-build"] == "boxoffice:abc123"
