"""How big each scenario is. Sizes bound every request count and wait, so a run always ends."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIOS = (
    "reservation",
    "pipeline",
    "flash_sale",
    "hot_row",
    "event_page",
    "scale_out",
    "open_holds",
    "event_cancel",
)


@dataclass(frozen=True)
class Options:
    """Every knob of a run; the presets below differ only in sizes."""

    mode: str = "default"
    #: Worker processes (`boxoffice worker --processes N`) for every scenario but scale-out.
    processes: int = 1
    #: Our worker pool's niceness (`nice -n N`, 0-19): on one machine, the API's answers then
    #: come before the workers' fulfilment when both want the CPU.
    workers_nice: int = 0
    #: None: the Temporal dev server keeps its state in memory; else its SQLite file.
    temporal_db: Path | None = None
    #: An existing Temporal frontend (host:port, namespace `default`, no TLS) instead of the
    #: embedded dev server; its CPU is then not measured.
    temporal_address: str | None = None
    #: An existing PostgreSQL (libpq URL) instead of the embedded one, migrated at start.
    database_url: str | None = None
    scenarios: tuple[str, ...] = SCENARIOS
    #: Scenario 1: requests per concurrency level.
    reservation_levels: tuple[int, ...] = (1, 10, 50)
    reservation_requests: dict[int, int] = field(default_factory=lambda: {1: 100, 10: 300, 50: 600})
    #: Scenario 2: orders through the whole pipeline, and buyers at once.
    pipeline_orders: int = 500
    pipeline_concurrency: int = 50
    #: Orders in the second run, with charge/issue/store/email as no-ops (0: skip it).
    pipeline_noop_orders: int = 300
    #: Scenario 3.
    flash_buyers: int = 10_000
    flash_seats: int = 1_000
    flash_concurrency: int = 200
    #: Scenario 4: reservations per layout, and ticket types in the spread layout.
    hot_row_orders: int = 500
    hot_row_types: int = 100
    hot_row_sql_updates: int = 5_000
    #: Scenario 8: views of one event's page (half ours, half the bare page's), and at once.
    page_views: int = 20_000
    page_concurrency: int = 200
    #: Scenario 5.
    open_holds: int = 2_000
    #: Longer than opening them all takes (about 12/s here), so all are held at once.
    open_hold_seconds: int = 300
    #: Restart the worker pool before open holds, so its memory and cache are theirs alone.
    fresh_workers_for_holds: bool = True
    #: Scenario 6: orders per configuration.
    scale_out_orders: int = 200
    #: Scenario 7: completed orders of the event that is cancelled.
    cancel_orders: int = 2_000
    #: Upper bound on any one wait (a pipeline draining, seats coming back).
    max_wait_seconds: float = 600

    def to_json(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["temporal_db"] = str(self.temporal_db) if self.temporal_db else None
        # A URL may carry a password: the results file says only that one was given.
        values["database_url"] = "given" if self.database_url else None
        values["reservation_requests"] = {str(k): v for k, v in self.reservation_requests.items()}
        return values


def preset(mode: str) -> Options:
    """`default`, `quick` (about a minute), `full` (10,000 open holds) or `tiny` (the test)."""
    if mode == "default":
        return Options()
    if mode == "full":
        return Options(
            mode="full", open_holds=10_000, open_hold_seconds=1200, max_wait_seconds=1800
        )
    if mode == "quick":
        return Options(
            mode="quick",
            reservation_requests={1: 10, 10: 30, 50: 100},
            pipeline_orders=30,
            pipeline_concurrency=10,
            pipeline_noop_orders=20,
            flash_buyers=1_000,
            flash_seats=20,
            hot_row_orders=40,
            hot_row_sql_updates=500,
            page_views=2_000,
            open_holds=30,
            open_hold_seconds=10,
            fresh_workers_for_holds=False,
            scale_out_orders=15,
            cancel_orders=40,
            max_wait_seconds=120,
        )
    if mode == "tiny":
        return Options(
            mode="tiny",
            reservation_levels=(1, 4),
            reservation_requests={1: 3, 4: 8},
            pipeline_orders=4,
            pipeline_concurrency=4,
            pipeline_noop_orders=3,
            flash_buyers=40,
            flash_seats=5,
            flash_concurrency=10,
            hot_row_orders=6,
            hot_row_types=3,
            hot_row_sql_updates=50,
            page_views=80,
            page_concurrency=10,
            open_holds=4,
            open_hold_seconds=3,
            fresh_workers_for_holds=False,
            scale_out_orders=3,
            cancel_orders=4,
            max_wait_seconds=90,
        )
    raise ValueError(f"unknown mode {mode!r}")
