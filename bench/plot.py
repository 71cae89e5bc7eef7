"""The PNG: latency distributions (ours beside each baseline) and throughput over time."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: write files only

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from bench.load import LoadResult
from bench.outcome import ScenarioResult


def _cdf(ax: Axes, load: LoadResult, style: str, color: str) -> None:
    values = sorted(s.seconds * 1000 for s in load.samples)
    if not values:
        return
    shares = [(i + 1) / len(values) for i in range(len(values))]
    label = f"{load.label} (n={len(values)})"
    ax.plot(values, shares, style, label=label, linewidth=1.4, color=color)


def write_plot(path: Path, results: list[ScenarioResult], title: str) -> None:
    by_name = {r.name: r for r in results}
    fig, axes = plt.subplots(2, 2, figsize=(15, 10))
    panels = [
        (axes[0][0], ("reservation",), "Scenario 1: POST /orders vs bare update-with-start"),
        (
            axes[0][1],
            ("flash_sale", "event_page"),
            "Scenarios 3 and 8: refusals vs bare 409; event page vs bare page",
        ),
    ]
    for ax, names, heading in panels:
        ax.set_title(heading)
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms, log scale)")
        ax.set_ylabel("share of requests answered within")
        ax.grid(True, which="both", alpha=0.3)
        # Loads come as (ours, baseline) pairs: one colour per pair, the baseline dashed.
        loads = [load for name in names if name in by_name for load in by_name[name].loads]
        for index, load in enumerate(loads):
            _cdf(ax, load, "--" if load.label.startswith("bare") else "-", f"C{index // 2}")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
    for ax, names, heading in (
        (
            axes[1][0],
            ("pipeline", "open_holds"),
            "Scenarios 2 and 5: completed orders/s; seats held",
        ),
        (axes[1][1], ("flash_sale",), "Scenario 3: flash sale answers per second"),
    ):
        ax.set_title(heading)
        ax.set_xlabel("seconds since the scenario started")
        ax.set_ylabel("per second")
        ax.grid(True, alpha=0.3)
        for name in names:
            result = by_name.get(name)
            for series in result.throughput if result else []:
                target = ax.twinx() if name == "open_holds" else ax
                target.plot(
                    range(len(series.per_second)),
                    series.per_second,
                    ":" if name == "open_holds" else "-",
                    label=series.label,
                    color="grey" if name == "open_holds" else None,
                )
                if name == "open_holds":
                    target.set_ylabel("seats held")
                    target.legend(fontsize=7, loc="upper right")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
