"""Child processes of the stack that a scenario may restart with other settings (the API with
N uvicorn workers, the worker pool with N processes), and what they use (memory, metrics)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench import cpu
from boxoffice.devstack import processes
from boxoffice.devstack.ports import free_port, port_is_free


class Child:
    """A process started with `start()`, stopped with `stop()`; output appended to a log."""

    def __init__(self, name: str, log_file: Path) -> None:
        self.name = name
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None

    def start(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        ready: Callable[[], bool],
        timeout: float = 90,
    ) -> None:
        self.stop()
        began = time.monotonic()
        self.proc, self._out = processes.start_process(
            args, log_file=self.log_file, env=env, cwd=cwd
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise processes.ServiceError(
                    f"{self.name} exited ({self.proc.returncode}):\n{processes.log_tail(self._out)}"
                )
            try:
                if ready():
                    print(f"bench: {self.name} up in {time.monotonic() - began:.1f} s", flush=True)
                    return
            except (httpx.HTTPError, OSError):
                pass
            if time.monotonic() > deadline:
                raise processes.ServiceError(f"{self.name} not ready within {timeout:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            cpu.note_departure(self.pids())
            began = time.monotonic()
            processes.stop_process(self.proc, name=self.name)
            print(f"bench: {self.name} stopped in {time.monotonic() - began:.1f} s", flush=True)
            self.proc = None
        if self._out is not None:
            self._out.close()
            self._out = None

    def pids(self) -> list[int]:
        """This process and its children (a worker pool's processes, uvicorn's workers)."""
        if self.proc is None:
            return []
        return [self.proc.pid, *child_pids(self.proc.pid)]


def child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_mib(pid: int) -> float:
    """Resident memory of one process in MiB (Linux /proc), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def free_port_run(count: int) -> int:
    """The first of `count` consecutive free ports (a worker pool serves metrics on base+i)."""
    while True:
        base = free_port()
        if all(port_is_free(base + i) for i in range(count)):
            return base


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    """A Prometheus endpoint's samples by sample name: [(labels, value), ...]."""
    with httpx.Client(trust_env=False, timeout=5) as client:
        text = client.get(f"http://127.0.0.1:{port}/metrics").text
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return found


def merged(
    scrapes: list[dict[str, list[tuple[dict[str, str], float]]]],
) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Several processes' samples together (sum them by label to get the pool's figure)."""
    total: dict[str, list[tuple[dict[str, str], float]]] = {}
    for one in scrapes:
        for name, samples in one.items():
            total.setdefault(name, []).extend(samples)
    return total


def total(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    """The sum of `name` over every sample whose labels include `labels`."""
    return sum(
        value
        for sample_labels, value in samples.get(name, [])
        if all(sample_labels.get(k) == v for k, v in labels.items())
    )
