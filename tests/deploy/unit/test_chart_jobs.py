"""The hook Jobs' limits: each Job (migrations, Temporal setup, build registration) gives up
after its own activeDeadlineSeconds and backoffLimit from values, within `helm upgrade`'s
default --timeout, and the schema bounds both."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.chart import find, render_objects
from tests.deploy.unit.test_chart_values import refusal
from tests.deploy.unit.test_chart_versioning import VERSIONED

#: `helm install` and `helm upgrade` wait this long for hooks unless --timeout says otherwise.
HELM_DEFAULT_TIMEOUT = 300
JOBS = {
    "migrate": "migrations",
    "temporal-setup": "temporalSetup",
    "register-build": "registerBuild",
}


def limits(found: list[dict[str, Any]], job: str) -> tuple[int, int]:
    spec = find(found, "Job", f"boxoffice-{job}")["spec"]
    return spec["activeDeadlineSeconds"], spec["backoffLimit"]


def test_every_hook_job_ends_before_helm_stops_waiting_for_it() -> None:
    found = render_objects(VERSIONED)
    for job in JOBS:
        deadline, retries = limits(found, job)
        assert 30 <= deadline < HELM_DEFAULT_TIMEOUT, job
        assert 0 <= retries <= 2, job
    # A Job's own wait for its database or Temporal fits in its deadline.
    migrate = find(found, "Job", "boxoffice-migrate")["spec"]["template"]["spec"]
    assert migrate["containers"][0]["command"][-2:] == ["--wait", "120"]
    assert limits(found, "migrate")[0] > 120


def test_each_job_takes_its_own_limits_from_values() -> None:
    values = {
        **VERSIONED,
        "migrations": {"activeDeadlineSeconds": 1800, "backoffLimit": 0},
        "temporalSetup": {"activeDeadlineSeconds": 600, "backoffLimit": 4},
        "registerBuild": {"activeDeadlineSeconds": 60, "backoffLimit": 1},
    }
    found = render_objects(values)
    assert limits(found, "migrate") == (1800, 0)
    assert limits(found, "temporal-setup") == (600, 4)
    assert limits(found, "register-build") == (60, 1)


@pytest.mark.parametrize("part", sorted(JOBS.values()))
@pytest.mark.parametrize(
    ("limit", "value", "expected"),
    [
        ("activeDeadlineSeconds", 10, "minimum: got 10, want 30"),
        ("activeDeadlineSeconds", 7200, "maximum: got 7,200, want 3,600"),
        ("backoffLimit", 7, "maximum: got 7, want 6"),
        ("backoffLimit", -1, "minimum: got -1, want 0"),
    ],
)
def test_limits_out_of_bounds_are_refused(part: str, limit: str, value: int, expected: str) -> None:
    message = refusal({part: {limit: value}})
    assert f"at '/{part}/{limit}': {expected}" in message


def test_a_deadline_within_the_jobs_own_wait_is_refused() -> None:
    message = refusal({"migrations": {"waitSeconds": 300, "activeDeadlineSeconds": 240}})
    assert "the migrate Job's activeDeadlineSeconds (240) must be longer than its waitSeconds" in (
        message
    )
