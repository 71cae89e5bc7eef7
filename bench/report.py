"""The table printed at the end of a run, and the JSON file the run leaves behind."""

from __future__ import annotations

import json
import math
import os
import platform
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.outcome import Row, ScenarioResult


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(results: list[ScenarioResult]) -> str:
    """Ours, the same-run baseline, their ratio and whether the issue's target is met."""
    header = ("scenario", "measure", "ours", "baseline", "ratio", "target", "met")
    lines = [header]
    for result in results:
        for row in result.rows:
            lines.append(_cells(row))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    text.insert(1, "  ".join("-" * w for w in widths))
    checks = [
        f"  {'ok ' if ok else 'FAILED'} {result.name}: {name}"
        for result in results
        for name, ok in result.checks.items()
    ]
    return "\n".join([*text, "", "checks:", *checks])


def _cells(row: Row) -> tuple[str, str, str, str, str, str, str]:
    ratio = row.ratio
    target = ("≥ " if row.higher_is_better else "≤ ") + f"{row.target}" if row.target else ""
    met = {True: "yes", False: "NO", None: ""}[row.met]
    return (
        row.scenario,
        row.measure,
        f"{_number(row.ours)} {row.unit}",
        f"{_number(row.baseline)} {row.unit}" if row.baseline is not None else "",
        f"{ratio:.2f}" if ratio is not None else "",
        target,
        met,
    )


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def write_json(
    path: Path,
    results: list[ScenarioResult],
    started: datetime,
    context: dict[str, Any],
) -> None:
    document = {
        "started": started.isoformat(timespec="seconds"),
        **context,
        "rows": [row.to_json() for result in results for row in result.rows],
        "checks": {f"{r.name}: {name}": ok for r in results for name, ok in r.checks.items()},
        "scenarios": {result.name: result.details for result in results},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
