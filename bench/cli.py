"""`python -m bench [--quick | --full] [--processes N] [--only S ...] [sizes...]`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.options import SCENARIOS, preset
from bench.run import run_benchmark

RESULTS = Path(__file__).resolve().parent / "results"
#: Options fields settable from the command line (`--flash-buyers 5000`).
SIZES = (
    "pipeline_orders",
    "pipeline_concurrency",
    "pipeline_noop_orders",
    "flash_buyers",
    "flash_seats",
    "flash_concurrency",
    "hot_row_orders",
    "page_views",
    "page_concurrency",
    "open_holds",
    "open_hold_seconds",
    "scale_out_orders",
    "cancel_orders",
)


def parse(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, dict[str, object]]:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes: about a minute")
    mode.add_argument("--full", action="store_true", help="10,000 open holds (takes long)")
    mode.add_argument("--tiny", action="store_true", help="the smallest sizes (the test's)")
    parser.add_argument("--processes", type=int, help="worker processes (default 1)")
    parser.add_argument(
        "--workers-nice",
        type=int,
        choices=range(20),
        metavar="N",
        help="run our worker pool under `nice -n N` (default 0)",
    )
    parser.add_argument(
        "--temporal-db", type=Path, help="Temporal dev server state in this SQLite file"
    )
    parser.add_argument(
        "--temporal-address", help="an existing Temporal frontend (host:port) instead of ours"
    )
    parser.add_argument("--database-url", help="an existing PostgreSQL instead of ours")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results go")
    sizes = parser.add_argument_group("sizes (override the mode's)")
    for name in SIZES:
        sizes.add_argument(f"--{name.replace('_', '-')}", type=int, dest=name)
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {
        name: getattr(args, name)
        for name in (
            "processes",
            "workers_nice",
            "temporal_db",
            "temporal_address",
            "database_url",
            *SIZES,
        )
        if getattr(args, name) is not None
    }
    if args.only:
        overrides["scenarios"] = tuple(args.only)
    return args, overrides


def main(argv: Sequence[str] | None = None) -> None:
    args, overrides = parse(argv)
    mode = "quick" if args.quick else "full" if args.full else "tiny" if args.tiny else "default"
    options = dataclasses.replace(preset(mode), **overrides)  # type: ignore[arg-type]
    # Both stop the run the same way, with every process it started (a background job starts
    # with SIGINT ignored, so set it too).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results, _ = asyncio.run(run_benchmark(options, args.out))
    failed = [name for r in results for name, ok in r.checks.items() if not ok]
    if failed:
        print(f"bench: {len(failed)} check(s) FAILED: {failed}", file=sys.stderr)
        sys.exit(1)
