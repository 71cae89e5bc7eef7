"""The harness's own arithmetic, without a stack: CPU per purchase of one side's window and of
a phase of a load (the flash sale's winners), the options that point a run at an existing
Temporal or PostgreSQL, and the workers' niceness."""

from __future__ import annotations

import dataclasses

import pytest

from bench import cpu
from bench.cli import parse
from bench.load import LoadResult, Sample
from bench.options import preset
from bench.scenarios.flash_sale_winners import winners_phase
from bench.stack import pool_command


def test_cpu_per_purchase_counts_one_sides_parts_and_shows_the_machine_apart() -> None:
    before: cpu.Snapshot = {
        1: ("workers", 10.0),
        2: ("naive worker", 5.0),
        3: ("Temporal", 20.0),
        0: ("machine busy", 100.0),
    }
    after: cpu.Snapshot = {
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


def _snapshot(api: float, temporal: float, busy: float) -> cpu.Snapshot:
    return {1: ("API", api), 2: ("Temporal", temporal), 0: ("machine busy", busy)}


def test_a_phase_of_a_load_is_accounted_from_the_snapshots_around_it() -> None:
    timeline = cpu.Timeline(
        [
            (100.0, _snapshot(0.0, 0.0, 0.0)),
            (101.0, _snapshot(1.0, 0.5, 1.5)),
            (102.0, _snapshot(1.5, 1.5, 3.0)),
            (103.0, _snapshot(2.0, 2.0, 4.0)),
        ]
    )

    # [100.5, 101.5] widens to the snapshots at 100 and 102.
    found = timeline.per_unit(100.5, 101.5, 10)

    assert found == {"API": 150.0, "Temporal": 150.0, "total": 300.0, "others on the machine": 0.0}
    assert timeline.per_unit(99.0, 101.0, 10) == {}  # nothing taken before the phase
    assert timeline.per_unit(101.0, 104.0, 10) == {}  # nor after it


def test_the_winners_wait_is_set_beside_what_the_cores_carry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpu, "cores", lambda: 2)
    timeline = cpu.Timeline([(0.0, _snapshot(0.0, 0.0, 0.0)), (10.0, _snapshot(6.0, 12.0, 18.0))])
    # 100 winners answered in the 10 s before the first refusal, one after it, refusals after.
    samples = [Sample(i * 0.1, i * 0.1 + 0.05, 201) for i in range(100)]
    samples += [Sample(9.9, 10.5, 201), Sample(10.0, 10.1, 409)]

    rows, spent = winners_phase(timeline, LoadResult("sale", 50, samples), 0.0, 10.0, 50)

    by_measure = {row.measure.strip(): row for row in rows}
    assert spent["API"] == 60.0 and spent["Temporal"] == 120.0 and spent["total"] == 180.0
    assert by_measure["winners' phase (to the first 409): winners answered/s"].ours == 10.0
    assert by_measure["CPU per winner, every part of the stack"].note == "ms: Temporal 120, API 60"
    carried = by_measure["winners/s the cores carry at that CPU"].ours
    assert carried == pytest.approx(2000 / 180)
    floor = by_measure["Little's law: buyers in flight ÷ that rate (the mean wait it allows)"]
    assert floor.ours == pytest.approx(50 / carried * 1000)
    assert floor.ratio == pytest.approx(4.5)  # the mean wait it allows, over the 1 s p50 target
    assert winners_phase(timeline, LoadResult("sale", 50, []), 0.0, 10.0, 50) == ([], {})
