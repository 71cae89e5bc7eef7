"""`make bench` on the smallest sizes, so the harness cannot rot: every scenario runs against its
own stack, writes its table, JSON and plot, and the flash sale's correctness checks hold. Speed
is not judged here (the benchmark itself reports it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.options import SCENARIOS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_tiny_benchmark_runs_every_scenario_and_sells_no_seat_twice(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--out", str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "scenario" in done.stdout and "checks:" in done.stdout  # the table was printed

    (json_path,) = tmp_path.glob("*.json")
    report = json.loads(json_path.read_text())
    assert set(report["scenarios"]) == set(SCENARIOS)
    assert {row["scenario"] for row in report["rows"]} == set(SCENARIOS)
    assert report["checks"] and all(report["checks"].values()), report["checks"]
    assert report["stack"]["temporal_storage"] == "memory"

    flash = report["scenarios"]["flash_sale"]
    seats = report["options"]["flash_seats"]
    assert flash["oversold_postgres"] == 0 and flash["oversold_stripe"] == 0
    assert flash["holding_orders"] == seats == flash["paid_orders_stripe"]
    assert flash["answers"]["statuses"].get("409", 0) > 0  # the losers were refused

    cancel = report["scenarios"]["event_cancel"]
    orders = report["options"]["cancel_orders"]
    assert cancel["refunded"] == cancel["emails"] == cancel["completed_before"] == orders

    page = report["scenarios"]["event_page"]
    assert page["ours"]["statuses"] == {"200": page["ours"]["requests"]}
    assert page["bare"]["statuses"] == {"200": page["bare"]["requests"]}

    baselines = [row for row in report["rows"] if row["baseline"] is not None]
    assert {"reservation", "event_page"} <= {row["scenario"] for row in baselines}

    png = json_path.with_suffix(".png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
