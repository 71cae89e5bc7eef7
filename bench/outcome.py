"""What a scenario hands to the report: table rows (ours beside the baseline), details for the
JSON file, and series for the plot."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.load import LoadResult


@dataclass
class Row:
    """One line of the table. `higher_is_better` says which way the ratio should go; `target`
    is the ratio the issue asks for (None: shown, not judged)."""

    scenario: str
    measure: str
    ours: float
    unit: str
    baseline: float | None = None
    target: float | None = None
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0 or math.isnan(self.baseline):
            return None
        return self.ours / self.baseline

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if self.target is None or ratio is None or math.isnan(ratio):
            return None
        return ratio >= self.target if self.higher_is_better else ratio <= self.target

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "measure": self.measure,
            "ours": _finite(self.ours),
            "baseline": _finite(self.baseline),
            "unit": self.unit,
            "ratio": _finite(self.ratio),
            "target": self.target,
            "target_is": (">=" if self.higher_is_better else "<=") if self.target else None,
            "met": self.met,
            "note": self.note,
        }


@dataclass
class Series:
    """A line on the throughput plot: counts per second since the scenario's start."""

    label: str
    per_second: list[int]


@dataclass
class ScenarioResult:
    name: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    #: Latency distributions for the plot (ours and baselines).
    loads: list[LoadResult] = field(default_factory=list)
    throughput: list[Series] = field(default_factory=list)
    #: Correctness checks (oversold seats...): False fails the run.
    checks: dict[str, bool] = field(default_factory=dict)


def _finite(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(value, 4)
