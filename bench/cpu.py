"""Where the CPU went during a scenario: seconds per part of the stack (Linux /proc), and how
much the rest of the machine (other people's work on a shared box) took meanwhile."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
#: pid (or "gone:<part>", or 0 for the machine) -> (part, CPU seconds so far).
Snapshot = dict[int | str, tuple[str, float]]
#: First match wins: a part of the stack by a word of its command line.
PARTS = (
    ("bench.bare_api", "bare API"),
    ("bench.bare_temporal", "bare worker"),
    ("bench.mail_sink", "SMTP"),
    ("bench.noop_steps", "no-op steps"),
    ("bench.naive", "naive worker"),
    ("boxoffice.app", "API"),
    ("boxoffice.worker", "workers"),
    ("multiprocessing", "workers"),  # a pool's spawned processes
    # Before "temporal": the load client's own command line may hold --temporal-address.
    ("-m bench", "load client"),
    ("temporal", "Temporal"),
    ("postgres", "Postgres"),
    ("localstripe", "Stripe emulator"),
    ("moto", "S3 (moto)"),
)


#: CPU seconds of processes stopped during the run (restarts), by part, counted at their stop.
_departed: dict[str, float] = {}


def note_departure(pids: list[int]) -> None:
    """Called just before stopping these processes, so their CPU time is not lost."""
    processes = _processes()
    for pid in pids:
        if pid in processes:
            _, cmdline, seconds = processes[pid]
            _departed[_part(cmdline)] = _departed.get(_part(cmdline), 0.0) + seconds


def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds so far)."""
    found: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        found[int(entry.name)] = (
            int(fields[1]),
            cmdline,
            (int(fields[11]) + int(fields[12])) / _TICK,
        )
    return found


def _part(cmdline: str) -> str:
    return next((name for word, name in PARTS if word in cmdline), "other (ours)")


def snapshot(tmp: Path) -> Snapshot:
    """CPU seconds so far of each of our processes (pid -> part, seconds): this process's
    descendants and the embedded PostgreSQL (which daemonises, so is found by its data
    directory); "gone:<part>" the stopped ones; pid 0 the whole machine's busy seconds."""
    processes = _processes()
    ours = {os.getpid()} | {pid for pid, (_, cmd, _) in processes.items() if str(tmp) in cmd}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _, _) in processes.items():
            if parent in ours and pid not in ours:
                ours.add(pid)
                grew = True
    found: Snapshot = {
        pid: (_part(processes[pid][1]), processes[pid][2]) for pid in ours if pid in processes
    }
    found.update({f"gone:{part}": (part, seconds) for part, seconds in _departed.items()})
    found[0] = ("machine busy", _machine_busy())
    return found


def cores() -> int:
    return os.cpu_count() or 1


def _machine_busy() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICK


def spent(
    before: Snapshot,
    after: Snapshot,
    wall: float,
) -> dict[str, float]:
    """CPU seconds per part between two snapshots (processes started meanwhile count from zero;
    those the harness stopped count up to their stop). `others on the machine` is the busy
    time none of ours accounts for: other people's work on a shared machine."""
    used = _used(before, after)
    machine = after[0][1] - before[0][1]
    result = {k: round(v, 1) for k, v in sorted(used.items(), key=lambda kv: -kv[1]) if v >= 0.05}
    result["others on the machine"] = round(max(0.0, machine - sum(used.values())), 1)
    result["wall"] = round(wall, 1)
    result["cores"] = float(cores())
    return result


def _used(before: Snapshot, after: Snapshot) -> dict[str, float]:
    used: dict[str, float] = {}
    for pid, (part, seconds) in after.items():
        if pid != 0:
            used[part] = used.get(part, 0.0) + seconds - before.get(pid, (part, 0.0))[1]
    return used


def per_purchase(
    before: Snapshot,
    after: Snapshot,
    purchases: int,
    leave_out: tuple[str, ...] = (),
) -> dict[str, float]:
    """CPU milliseconds per completed purchase of each part between two snapshots (one side's
    window), `total` over those parts, and `others on the machine` (not in the total: how busy
    the shared machine was meanwhile). Parts in `leave_out` (another side's processes, idle
    in this window) count as neither."""
    if purchases <= 0:
        return {}
    everything = _used(before, after)
    used = {k: v for k, v in everything.items() if k not in leave_out}
    machine = after[0][1] - before[0][1]
    found = {
        k: round(v * 1000 / purchases, 1)
        for k, v in sorted(used.items(), key=lambda kv: -kv[1])
        if v >= 0.005
    }
    found["total"] = round(sum(used.values()) * 1000 / purchases, 1)
    others = max(0.0, machine - sum(everything.values()))
    found["others on the machine"] = round(others * 1000 / purchases, 1)
    return found


@dataclass
class Timeline:
    """Snapshots taken while a load ran, each stamped with `time.time()` (the clock of the load's
    samples), so a phase of the load (a flash sale's winners, before the first refusal) gets
    its own CPU accounting."""

    points: list[tuple[float, Snapshot]] = field(default_factory=list)

    def per_unit(self, start: float, end: float, units: int) -> dict[str, float]:
        """`per_purchase` over the snapshots around [start, end]: the last one taken at or
        before `start` and the first at or after `end` (so the window errs wide by up to one
        interval at each end); {} without both."""
        before = [snapshot for stamp, snapshot in self.points if stamp <= start]
        after = [snapshot for stamp, snapshot in self.points if stamp >= end]
        if not before or not after:
            return {}
        return per_purchase(before[-1], after[0], units)


@asynccontextmanager
async def sampled(tmp: Path, interval: float = 1.0) -> AsyncIterator[Timeline]:
    """A snapshot every `interval` seconds while the block runs, and one at each end."""
    timeline = Timeline([(time.time(), snapshot(tmp))])

    async def sample() -> None:
        while True:
            await asyncio.sleep(interval)
            timeline.points.append((time.time(), await asyncio.to_thread(snapshot, tmp)))

    sampler = asyncio.create_task(sample())
    try:
        yield timeline
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        timeline.points.append((time.time(), snapshot(tmp)))
