"""The chaos tier: one breakable cluster for the session, scenarios run one after another (a
Postgres stop would break a neighbour), and a summary line per scenario at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from tests.orders.chaos.cluster import Cluster, chaos_cluster, open_world
from tests.orders.chaos.invariants import World
from tests.orders.chaos.sizes import Sizes, sizes
from tests.orders.workflow.harness import save_history


@dataclass
class ScenarioReport:
    name: str
    counts: dict[str, int]
    violations: list[str]

    def line(self) -> str:
        counts = ", ".join(f"{key} {value}" for key, value in self.counts.items())
        return f"{self.name}: {counts}; {len(self.violations)} violations"


@dataclass
class Reports:
    done: list[ScenarioReport] = field(default_factory=list)

    def record(self, name: str, counts: dict[str, int], violations: list[str]) -> None:
        """Keep the scenario's line for the summary and fail the test on any violation."""
        report = ScenarioReport(name, counts, violations)
        self.done.append(report)
        print(report.line(), flush=True)  # as it happens, under `pytest -s`
        assert not violations, f"{name}: " + "\n".join(violations[:30])


_REPORTS = Reports()


@dataclass
class Chaos:
    cluster: Cluster
    world: World
    sizes: Sizes
    reports: Reports

    async def record_history(self, order_id: str, path: str) -> None:
        """Keep this order's run as a replay fixture (when recording): a path a fault found."""
        await save_history(self.world.temporal.get_workflow_handle(order_id), path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _REPORTS.done:
        return
    terminalreporter.section("chaos scenarios")
    for report in _REPORTS.done:
        terminalreporter.write_line(report.line())


@pytest.fixture(scope="session")
def reports() -> Reports:
    return _REPORTS


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with chaos_cluster(tmp_path_factory.mktemp("chaos")) as running:
        yield running


@pytest_asyncio.fixture(scope="session")
async def chaos(cluster: Cluster) -> AsyncIterator[Chaos]:
    async with open_world(cluster) as (world, _engine):
        yield Chaos(cluster, world, sizes(), _REPORTS)
