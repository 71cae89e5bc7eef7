"""The daily Schedule that runs ReconciliationWorkflow for the previous UTC day.

Created or updated in place (never a second one) by `boxoffice temporal setup`, the deploy's
setup (the Helm chart's Job, docker-compose's `migrate`), and by `boxoffice reconcile schedule`;
a paused schedule stays paused. A run that overlaps the previous one is skipped; a missed run
(Temporal away) is caught up within a day."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from boxoffice.core.settings import Settings
from boxoffice.orders.client import pipeline_config
from boxoffice.orders.reconciliation.messages import ReconcileInput
from boxoffice.orders.reconciliation.workflow import ReconciliationWorkflow

SCHEDULE_ID = "boxoffice-reconciliation"


def daily_schedule(settings: Settings, hour: int, fix: bool) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReconciliationWorkflow.run,
            ReconcileInput(fix=fix, config=pipeline_config(settings)),
            id="reconciliation",  # the server appends each run's time
            task_queue=settings.task_queue_purchases,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(hour)], minute=[ScheduleRange(0)], comment="daily"
                )
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )


async def ensure_schedule(client: Client, settings: Settings, hour: int, fix: bool) -> str:
    """Create the schedule, or update it to this one; returns `created` or `updated`."""
    wanted = daily_schedule(settings, hour, fix)
    try:
        await client.create_schedule(SCHEDULE_ID, wanted)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
        # An operator's pause (and its note) outlives the update every deploy makes.
        state = current.description.schedule.state
        return ScheduleUpdate(schedule=dataclasses.replace(wanted, state=state))

    await client.get_schedule_handle(SCHEDULE_ID).update(replace)
    return "updated"
