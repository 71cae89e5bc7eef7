"""Dataclasses that cross the Temporal boundary for the event-wide runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from boxoffice.orders.messages import PipelineConfig

CANCEL = "cancel"
POSTPONE = "postpone"
#: Outcomes whose buyer gets no email: the order had ended meanwhile.
SKIPPED = "skipped"
FAILED = "failed"
#: Recorded before an order is asked, replaced by its outcome once it answers.
ACTING = "acting"


@dataclass
class EventRun:
    """An event-wide run: cancel or postpone, who asked and why; for a postponement, the new
    start and until when buyers may still cancel."""

    event_id: str
    run_id: str
    kind: str
    reason: str
    actor: str
    window: int = 20
    starts_at: datetime | None = None
    refund_deadline: datetime | None = None
    #: A postponement's number (1, 2...): a later one supersedes it.
    number: int = 0
    config: PipelineConfig = field(default_factory=PipelineConfig)
    #: Carried over a continue-as-new: what the run's earlier histories finished.
    done: int = 0
    failed: int = 0


@dataclass
class NextOrders:
    event_id: str
    run_id: str
    exclude: list[str]
    limit: int


@dataclass
class OrderBatch:
    order_ids: list[str]


@dataclass
class OrderTask:
    run: EventRun
    order_id: str


@dataclass
class OrderOutcome:
    order_id: str
    outcome: str
    detail: str | None = None


@dataclass
class RunReport:
    run_id: str
    orders: int
    outcomes: dict[str, int]
    failed: dict[str, str]


@dataclass
class RunProgress:
    """The `progress` query: what the run has done (across its continue-as-new)."""

    done: int
    failed: int
    in_flight: int
    finished: bool
