"""One benchmark run: start the stack, run the chosen scenarios in order, report, stop."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import cpu
from bench.options import Options
from bench.outcome import ScenarioResult
from bench.plot import write_plot
from bench.report import machine, table, write_json
from bench.scenarios import (
    event_cancel,
    event_page,
    flash_sale,
    hot_row,
    open_holds,
    pipeline,
    reservation,
    scale_out,
)
from bench.stack import BenchStack, bench_stack

#: In the order they run: scale-out restarts the processes, open holds needs short holds, and
#: the cancellation comes last (its 2,000 orders would crowd the others' figures).
RUNNERS: dict[str, Callable[[BenchStack], Awaitable[ScenarioResult]]] = {
    "reservation": reservation.run,
    "pipeline": pipeline.run,
    "flash_sale": flash_sale.run,
    "hot_row": hot_row.run,
    "event_page": event_page.run,
    "scale_out": scale_out.run,
    "open_holds": open_holds.run,
    "event_cancel": event_cancel.run,
}


def _say(message: str) -> None:
    print(f"bench: {message}", flush=True)


async def run_benchmark(options: Options, out_dir: Path) -> tuple[list[ScenarioResult], Path]:
    """Run and write `<out_dir>/<date>.json` and `.png`; returns the results and the JSON path."""
    started = datetime.now(UTC)
    stamp = started.strftime("%Y-%m-%d-%H%M")
    host = machine()
    results: list[ScenarioResult] = []
    timings: dict[str, float] = {}
    _say(f"starting the stack ({options.mode} sizes)")
    began = time.monotonic()
    async with bench_stack(options) as stack:
        timings["stack_start"] = round(time.monotonic() - began, 1)
        described = stack.describe()
        _say(f"stack up in {timings['stack_start']} s: {described}")
        for name, runner in RUNNERS.items():
            if name not in options.scenarios:
                continue
            _say(f"scenario {name}")
            began = time.monotonic()
            cpu_before = cpu.snapshot(stack.tmp)
            result = await runner(stack)
            timings[name] = round(time.monotonic() - began, 1)
            result.details["cpu_seconds"] = cpu.spent(
                cpu_before, cpu.snapshot(stack.tmp), timings[name]
            )
            results.append(result)
            _say(f"scenario {name} took {timings[name]} s; CPU s: {result.details['cpu_seconds']}")
        _say("stopping the stack")
    json_path = out_dir / f"{stamp}.json"
    context = {
        "machine": host,
        "stack": described,
        "options": options.to_json(),
        "durations_s": timings,
    }
    write_json(json_path, results, started, context)
    title = (
        f"boxoffice bench {stamp} ({options.mode}); {host['cores']} cores, {host['cpu']}; "
        f"Temporal {described['temporal_storage']}"
    )
    write_plot(json_path.with_suffix(".png"), results, title)
    print(table(results), flush=True)
    _say(f"wrote {json_path} and {json_path.with_suffix('.png')}")
    return results, json_path
