"""A versioned release (settings.WORKER_DEPLOYMENT_NAME and WORKER_BUILD_ID): the chart
registers the build in a hook Job before the workers start, and refuses one setting alone."""

from __future__ import annotations

import helm_python as helm
import pytest

from tests.deploy.chart import find, render, render_objects

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
