"""The event-wide runs as a versioned worker registers them (see
`orders/workflow/versioned.py` for why these are subclasses).

PINNED: a cancellation or postponement walks an event's orders for minutes or hours and ends on
the code it started with (continue-as-new keeps the build), so its build drains soon after a
deploy and a change to these runs needs no patch to be safe. docs/design-notes.md."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import VersioningBehavior

from boxoffice.events.lifecycle.workflow import (
    EventCancellationWorkflow,
    EventPostponementWorkflow,
)

with workflow.unsafe.imports_passed_through():
    from boxoffice.events.lifecycle.messages import EventRun, RunReport


@workflow.defn(name="EventCancellationWorkflow", versioning_behavior=VersioningBehavior.PINNED)
class VersionedEventCancellation(EventCancellationWorkflow):
    @workflow.run
    async def run(self, run: EventRun) -> RunReport:
        return await super().run(run)


@workflow.defn(name="EventPostponementWorkflow", versioning_behavior=VersioningBehavior.PINNED)
class VersionedEventPostponement(EventPostponementWorkflow):
    @workflow.run
    async def run(self, run: EventRun) -> RunReport:
        return await super().run(run)
