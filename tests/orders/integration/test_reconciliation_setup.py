"""`boxoffice temporal setup`, the deploy's setup, on the stack's Temporal: it creates the daily
reconciliation Schedule once, updates it in place when run again (a paused one stays paused),
and writes its input with the payload key the workers read it with."""

from __future__ import annotations

from temporalio.client import ScheduleActionStartWorkflow, ScheduleDescription

from boxoffice.orders.reconciliation.messages import ReconcileInput
from boxoffice.orders.reconciliation.schedule import SCHEDULE_ID
from tests.commands import cli, own_output
from tests.conftest import Stack


async def setup(env: dict[str, str], *args: str) -> str:
    result = await cli(env, "temporal", "setup", "--wait", "10", *args)
    assert result.exit_code == 0, result.output
    return own_output(result)


async def sent_input(stack: Stack, described: ScheduleDescription) -> ReconcileInput:
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "ReconciliationWorkflow"
    assert action.task_queue == stack.settings.task_queue_purchases
    [payload] = action.args
    [sent] = await stack.temporal.data_converter.decode([payload], [ReconcileInput])
    assert isinstance(sent, ReconcileInput)
    return sent


async def test_setup_creates_the_schedule_once_then_updates_it_in_place(
    stack: Stack, cli_env: dict[str, str]
) -> None:
    handle = stack.temporal.get_schedule_handle(SCHEDULE_ID)
    try:
        first = await setup(cli_env)
        assert "search attributes already registered" in first
        assert f"schedule {SCHEDULE_ID} created: daily at 03:00 UTC, refunding" in first
        described = await handle.describe()
        [calendar] = described.schedule.spec.calendars
        assert [r.start for r in calendar.hour] == [3]
        sent = await sent_input(stack, described)
        assert (sent.since, sent.fix) == (None, True)
        assert not described.schedule.state.paused

        # Paused by an operator; the next deploy's setup changes it but keeps the pause.
        await handle.pause(note="books closed for the audit")
        again = await setup(cli_env, "--reconcile-hour", "5", "--reconcile-report-only")
        assert f"schedule {SCHEDULE_ID} updated: daily at 05:00 UTC, reporting only" in again
        described = await handle.describe()
        [calendar] = described.schedule.spec.calendars
        assert [r.start for r in calendar.hour] == [5]
        assert (await sent_input(stack, described)).fix is False
        assert described.schedule.state.paused
        assert described.schedule.state.note == "books closed for the audit"

        # Left alone when the operator keeps the schedule to themselves.
        assert "schedule" not in await setup(cli_env, "--no-reconcile-schedule")
        assert (await handle.describe()).schedule.state.paused
    finally:
        await handle.delete()
