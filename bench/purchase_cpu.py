"""CPU milliseconds per completed purchase in each process of the stack, and where they go.

`python -m bench.purchase_cpu` starts the bench's stack (bench/stack.py), buys a few warm-up
orders, then buys `--orders` orders `--repeats` times through the API (reserve, then pay, as
the pipeline scenario does), reading each process's CPU time around each repetition. With
`--profile DIR` one more repetition runs under py-spy, attached to the API and the worker
process, and DIR gets each one's flame graph (svg), its top functions (txt) and its raw stacks
(.collapsed). py-spy samples only the thread holding the GIL (`--gil`): a thread waiting for it
is not doing work, and the SDK's Rust threads are not Python (their CPU is counted apart, per
thread name, in the figures).

A shared machine's figures are indicative: compare medians of runs made the same way."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench import cpu
from bench.options import preset
from bench.scenarios.pipeline import run_ours
from bench.stack import BenchStack, bench_stack

PY_SPY = Path(sys.executable).with_name("py-spy")
TICK = os.sysconf("SC_CLK_TCK")
PARTS = ("API", "workers", "Temporal", "Postgres", "Stripe emulator", "S3 (moto)", "SMTP")


async def measure(stack: BenchStack, orders: int, concurrency: int) -> dict[str, float]:
    """CPU ms per completed purchase for each part, over one run of `orders` purchases."""
    worker = stack.worker_pids()[-1]
    threads_before = threads(worker)
    before, began = cpu.snapshot(stack.tmp), time.monotonic()
    run = await run_ours(stack, orders, concurrency, "purchase cpu")
    spent = cpu.spent(before, cpu.snapshot(stack.tmp), time.monotonic() - began)
    threads_after = threads(worker)
    done = len(run.completed_at) or 1
    figures = {part: spent.get(part, 0.0) * 1000 / done for part in PARTS}
    for name, seconds in threads_after.items():
        figures[f"worker {name}"] = (seconds - threads_before.get(name, 0.0)) * 1000 / done
    figures["completed"] = len(run.completed_at)
    figures["others on the machine (s)"] = spent["others on the machine"]
    return figures


async def profiled(stack: BenchStack, orders: int, concurrency: int, out: Path) -> None:
    """One more run with py-spy sampling the API and the worker process."""
    targets = {"api": stack.api.pids()[-1], "worker": stack.worker_pids()[-1]}
    spies = start_spies(targets, out)
    await asyncio.sleep(1)  # py-spy attached
    try:
        await run_ours(stack, orders, concurrency, "purchase cpu (profiled)")
    finally:
        stop_spies(spies, out)


def start_spies(targets: dict[str, int], out: Path) -> dict[str, subprocess.Popen[bytes]]:
    """A flame graph and raw stacks (for top()) of each target, sampled without pausing it."""
    out.mkdir(parents=True, exist_ok=True)
    return {
        f"{name}.{ext}": subprocess.Popen(
            [
                *(str(PY_SPY), "record", "--nonblocking", "--gil", "--rate", "200"),
                *("--pid", str(pid), "--format", fmt, "--output", str(out / f"{name}.{ext}")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in targets.items()
        for fmt, ext in (("flamegraph", "svg"), ("raw", "raw"))
    }


def stop_spies(spies: dict[str, subprocess.Popen[bytes]], out: Path) -> None:
    for spy in spies.values():
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    for raw in out.glob("*.raw"):
        raw.with_name(f"{raw.stem}-top.txt").write_text(top(raw.read_text()))
        raw.rename(raw.with_suffix(".collapsed"))  # for a closer look; not committed


def threads(pid: int) -> dict[str, float]:
    """CPU seconds of a process's threads by name: Python's own threads keep the process's
    name, the SDK's Rust core runs in threads named by tokio."""
    found: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = "python threads" if name.startswith("python") else name
        found[kind] = found.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    return found


def top(collapsed: str, count: int = 30) -> str:
    """The functions most often on the CPU (self) and on the stack (total), idle excluded."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if not frames[-1]:  # a thread without Python frames (e.g. the SDK's Rust core)
            continue
        samples += int(n)
        own[frames[-1]] += int(n)
        for frame in set(frames[1:]):  # the first frame is the thread
            total[frame] += int(n)
    lines = [f"{samples} samples of threads on the CPU", "", "self %  function"]
    lines += [f"{100 * n / samples:5.1f}  {f}" for f, n in own.most_common(count)]
    lines += ["", "total %  function"]
    lines += [f"{100 * n / samples:5.1f}  {f}" for f, n in total.most_common(count)]
    ours: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        # One entry per function of ours, whichever of its lines the sample was on.
        found = {f.rsplit(":", 1)[0] + ")" for f in stack.split(";") if "(boxoffice/" in f}
        for function in found:
            ours[function] += int(n)
    lines += ["", "total %  our own function (boxoffice/), any line"]
    lines += [f"{100 * n / samples:5.1f}  {f}" for f, n in ours.most_common(count)]
    return "\n".join(lines) + "\n"


async def main(args: argparse.Namespace) -> None:
    options = dataclasses.replace(preset("quick"), processes=1, max_wait_seconds=600)
    async with bench_stack(options) as stack:
        await run_ours(stack, args.concurrency, args.concurrency, "warm-up")
        runs = [await measure(stack, args.orders, args.concurrency) for _ in range(args.repeats)]
        if args.profile:
            await profiled(stack, args.orders, args.concurrency, args.profile)
    for n, figures in enumerate(runs):
        print(f"run {n + 1}: " + ", ".join(f"{k} {v:.0f}" for k, v in figures.items()))
    print("median CPU ms per completed purchase:")
    for part in runs[0]:
        if part in PARTS or part.startswith("worker "):
            value = statistics.median(r.get(part, 0.0) for r in runs)
            print(f"  {part:24} {value:7.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.purchase_cpu", description=__doc__)
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="py-spy the API and worker into this dir")
    asyncio.run(main(parser.parse_args()))
