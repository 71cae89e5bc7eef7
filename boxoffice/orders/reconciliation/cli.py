"""`boxoffice reconcile`: check the books against Stripe for a period, by hand, and set up the
daily Schedule (`boxoffice reconcile schedule`).

The check runs as a ReconciliationWorkflow on the workers (the schedule's very code path), and
this command waits for its report. Exit codes: 0 the books match (or every mismatch was fixed),
1 mismatches remain, 2 bad input, 4 the database or Temporal is away."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from boxoffice.core.cli_runner import Parts, run

if TYPE_CHECKING:
    from boxoffice.orders.reconciliation.messages import Report

reconcile_app = typer.Typer(
    help="Check our payments and refunds against Stripe's.", invoke_without_command=True
)
_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def parse_moment(text: str, now: datetime) -> int:
    """`7d`, `36h`, `90m`, `2w` (that long before now), or a date or ISO time (UTC if no zone);
    Unix seconds."""
    found = _DURATION.match(text.strip())
    if found:
        return int(now.timestamp()) - int(found[1]) * _UNITS[found[2]]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r}: give a date, an ISO time or e.g. 24h, 7d") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


@reconcile_app.callback()
def reconcile(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", help="Start: a date, an ISO time or e.g. 24h, 7d.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="End (not included); default now.")
    ] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="Refund stray payments (each once, as the webhook).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the report.")] = 600,
) -> None:
    """Check a period's payments and refunds against Stripe; list every mismatch."""
    if ctx.invoked_subcommand is not None:
        return
    if since is None:
        raise typer.BadParameter("say from when, e.g. --since 24h", param_hint="--since")
    now = datetime.now(UTC)
    start = parse_moment(since, now)
    end = parse_moment(until, now) if until else int(now.timestamp())
    if end <= start:
        raise typer.BadParameter("--until must come after --since", param_hint="--until")

    async def check(parts: Parts) -> Report:
        return await run_reconciliation(parts, start, end, fix, wait)

    from boxoffice.orders.reconciliation.report_view import print_report, report_json

    report = run(check)
    if as_json:
        typer.echo(report_json(report))
    else:
        print_report(report)
    if any(m.fixed != "refunded" for m in report.mismatches):
        raise typer.Exit(1)


async def run_reconciliation(
    parts: Parts, since: int, until: int, fix: bool, wait: float
) -> Report:
    """Start a ReconciliationWorkflow for [since, until) and wait for its report."""
    import asyncio

    from boxoffice.core.errors import DomainError, ErrorKind
    from boxoffice.orders.client import pipeline_config
    from boxoffice.orders.reconciliation.messages import ReconcileInput
    from boxoffice.orders.reconciliation.workflow import ReconciliationWorkflow

    settings = parts.settings
    handle = await parts.temporal.start_workflow(
        ReconciliationWorkflow.run,
        ReconcileInput(since, until, fix, pipeline_config(settings)),
        id=f"reconciliation-by-hand-{uuid.uuid4().hex[:12]}",
        task_queue=settings.task_queue_purchases,
        execution_timeout=timedelta(seconds=max(wait, 60) * 2),
    )
    try:
        return await asyncio.wait_for(handle.result(), timeout=wait)
    except TimeoutError:
        raise DomainError(
            ErrorKind.UNAVAILABLE,
            f"no report after {wait:.0f}s from {handle.id}: are the purchases and payments "
            "workers running?",
        ) from None


@reconcile_app.command("schedule")
def schedule(
    hour: Annotated[int, typer.Option(min=0, max=23, help="UTC hour of the daily run.")] = 3,
    fix: Annotated[
        bool, typer.Option("--fix/--report-only", help="Refund stray payments it finds.")
    ] = True,
) -> None:
    """Create or update the daily Schedule checking the previous UTC day (idempotent)."""
    from boxoffice.orders.reconciliation.schedule import SCHEDULE_ID, ensure_schedule

    async def apply(parts: Parts) -> str:
        return await ensure_schedule(parts.temporal, parts.settings, hour, fix)

    done = run(apply)
    mode = "refunding stray payments" if fix else "reporting only"
    typer.echo(f"schedule {SCHEDULE_ID} {done}: daily at {hour:02d}:00 UTC, {mode}")
