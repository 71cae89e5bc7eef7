"""The harness's own arithmetic, without a stack: CPU per purchase of one side's window, the
options that point a run at an existing Temporal or PostgreSQL, and the workers' niceness."""

from __future__ import annotations

import dataclasses

import pytest

from bench import cpu
from bench.cli import parse
from bench.options import preset
from bench.stack import pool_command


def test_cpu_per_purchase_counts_one_sides_parts_and_shows_the_machine_apart() -> None:
    before: dict[int | str, tuple[str, float]] = {
        1: ("workers", 10.0),
        2: ("naive worker", 5.0),
        3: ("Temporal", 20.0),
        0: ("machine busy", 100.0),
    }
    after: dict[int | str, tuple[str, float]] = {
        1: ("workers", 13.0),
        2: ("naive worker", 5.5),
        3: ("Temporal", 22.0),
        4: ("API", 1.0),  # started during the window: counted from zero
        0: ("machine busy", 110.0),
    }

    found = cpu.per_purchase(before, after, 10, leave_out=("naive worker",))

    assert found["workers"] == 300.0
    assert found["Temporal"] == 200.0
    assert found["API"] == 100.0
    assert "naive worker" not in found
    assert found["total"] == 600.0
    # 10 busy seconds, 6.5 of them ours (the naive worker's too): 3.5 s others'.
    assert found["others on the machine"] == 350.0
    assert cpu.per_purchase(before, after, 0) == {}


def test_an_existing_temporal_and_database_are_options_and_the_url_is_not_written_down() -> None:
    _, overrides = parse(
        ["--quick", "--temporal-address", "t:7233", "--database-url", "postgresql://u:pw@db/x"]
    )
    options = dataclasses.replace(preset("quick"), **overrides)  # type: ignore[arg-type]

    assert options.temporal_address == "t:7233"
    assert options.database_url == "postgresql://u:pw@db/x"
    written = options.to_json()
    assert written["temporal_address"] == "t:7233"
    assert written["database_url"] == "given"
    assert preset("quick").to_json()["database_url"] is None


def test_the_worker_pool_runs_under_nice_only_when_asked() -> None:
    _, overrides = parse(["--quick", "--workers-nice", "10"])
    options = dataclasses.replace(preset("quick"), **overrides)  # type: ignore[arg-type]

    assert options.workers_nice == 10
    command = pool_command(2, "purchases", options.workers_nice)
    assert command[:3] == ["nice", "-n", "10"]
    assert command[3:][-4:] == ["--processes", "2", "--queues", "purchases"]
    assert pool_command(1, "purchases", preset("quick").workers_nice)[0] != "nice"
    with pytest.raises(SystemExit):  # niceness is 0 to 19: no raising our priority
        parse(["--workers-nice", "-5"])
