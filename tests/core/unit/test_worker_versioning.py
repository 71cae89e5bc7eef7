"""A worker's versioning settings, and the behaviour each workflow type declares."""

from __future__ import annotations

import pytest
from temporalio import workflow
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion

from boxoffice.core.settings import Settings, get_settings
from boxoffice.core.temporal.versioning import VersioningError, deployment_config, worker_version
from boxoffice.worker import PURCHASES_WORKFLOWS, VERSIONED_PURCHASES_WORKFLOWS, run_workers


def settings(name: str | None, build: str | None) -> Settings:
    return Settings(worker_deployment_name=name, worker_build_id=build)


def test_neither_set_is_an_unversioned_worker() -> None:
    assert worker_version(settings(None, None)) is None
    assert deployment_config(settings(None, None)) is None


def test_both_set_is_that_version_and_every_workflow_must_declare_its_behaviour() -> None:
    config = deployment_config(settings("boxoffice", "2026.12.03-abc123"))
    assert config is not None
    assert config.version == WorkerDeploymentVersion("boxoffice", "2026.12.03-abc123")
    assert config.use_worker_versioning
    assert config.default_versioning_behavior == VersioningBehavior.UNSPECIFIED


@pytest.mark.parametrize(
    ("name", "build", "says"),
    [
        ("boxoffice", None, "WORKER_BUILD_ID is not set"),
        ("boxoffice", "  ", "WORKER_BUILD_ID is not set"),
        (None, "abc123", "WORKER_DEPLOYMENT_NAME is not set"),
        ("box.office", "abc123", "must not contain '.'"),
    ],
)
def test_half_or_malformed_settings_are_refused(
    name: str | None, build: str | None, says: str
) -> None:
    with pytest.raises(VersioningError, match=says):
        worker_version(settings(name, build))


def test_a_versioned_worker_runs_the_same_types_each_declaring_its_behaviour() -> None:
    """Orders live for weeks: auto-upgrade (changes patched, tests/orders/replay). The short runs
    finish on their own build. docs/design-notes.md says why. The plain classes declare none:
    an unversioned worker's tasks would be refused by the server."""
    plain = [workflow._Definition.must_from_class(cls) for cls in PURCHASES_WORKFLOWS]
    versioned = [workflow._Definition.must_from_class(c) for c in VERSIONED_PURCHASES_WORKFLOWS]
    assert [d.name for d in versioned] == [d.name for d in plain]
    assert {d.versioning_behavior for d in plain} == {VersioningBehavior.UNSPECIFIED}
    behaviours = {d.name: d.versioning_behavior for d in versioned}
    assert behaviours.pop("PurchaseWorkflow") == VersioningBehavior.AUTO_UPGRADE
    assert set(behaviours.values()) == {VersioningBehavior.PINNED}
    for before, after in zip(plain, versioned, strict=True):
        assert after.signals.keys() == before.signals.keys()
        assert after.queries.keys() == before.queries.keys()
        assert after.updates.keys() == before.updates.keys()


def test_worker_without_a_build_id_says_so_in_one_line_and_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORKER_DEPLOYMENT_NAME", "boxoffice")
    monkeypatch.delenv("WORKER_BUILD_ID", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            run_workers(["purchases"])
    finally:
        get_settings.cache_clear()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "WORKER_BUILD_ID is not set" in err
