"""`boxoffice temporal setup` (the chart's setup Job, docker-compose's `migrate`, `make dev`)
creates or updates the daily reconciliation Schedule after the search attributes; Temporal is
replaced by recording fakes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

import boxoffice.cli
from boxoffice.cli import app
from boxoffice.core.command_settings import command_settings
from boxoffice.core.settings import Settings
from boxoffice.core.temporal.client import Security

Calls = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    seen: Calls = []

    async def register(address: str, namespace: str, **options: Any) -> list[str]:
        seen.append(("register", {"address": address, "namespace": namespace, **options}))
        return []

    async def schedule(settings: Settings, hour: int, fix: bool) -> str:
        seen.append(("schedule", {"address": settings.temporal_address, "hour": hour, "fix": fix}))
        return "created"

    monkeypatch.setattr(boxoffice.cli, "register_search_attributes", register)
    monkeypatch.setattr(boxoffice.cli, "ensure_reconciliation_schedule", schedule)
    command_settings.cache_clear()
    yield seen
    command_settings.cache_clear()


ENV = {"TEMPORAL_ADDRESS": "temporal.example:7233", "TEMPORAL_NAMESPACE": "shop"}


def setup(*args: str, env: dict[str, str] = ENV) -> str:
    result = CliRunner().invoke(app, ["temporal", "setup", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_schedule_follows_the_search_attributes_daily_at_three_refunding(calls: Calls) -> None:
    output = setup("--wait", "5")
    assert [name for name, _ in calls] == ["register", "schedule"]
    register, schedule = (options for _, options in calls)
    assert (register["address"], register["namespace"]) == ("temporal.example:7233", "shop")
    assert register["wait_seconds"] == 5
    assert register["security"] == Security(tls=False, api_key=None)
    assert schedule == {"address": "temporal.example:7233", "hour": 3, "fix": True}
    assert "schedule boxoffice-reconciliation created: daily at 03:00 UTC" in output


def test_the_hour_and_report_only_are_passed_on(calls: Calls) -> None:
    output = setup("--reconcile-hour", "22", "--reconcile-report-only")
    assert calls[1] == ("schedule", {"address": "temporal.example:7233", "hour": 22, "fix": False})
    assert "daily at 22:00 UTC, reporting only" in output


def test_the_schedule_can_be_left_out(calls: Calls) -> None:
    output = setup("--no-reconcile-schedule")
    assert [name for name, _ in calls] == ["register"]
    assert "schedule" not in output


def test_the_api_key_reaches_the_registration_over_tls(calls: Calls) -> None:
    setup(env=ENV | {"TEMPORAL_API_KEY": "tmprl-key"})
    assert calls[0][1]["security"] == Security(tls=True, api_key="tmprl-key")
