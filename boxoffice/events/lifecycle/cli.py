"""`boxoffice events cancel | cancellation | postpone`: the same use cases as
`POST /events/{id}/cancel`, `GET /events/{id}/cancellation` and `POST /events/{id}/postpone`.
A cancel shows a progress bar until every order is done (Ctrl-C stops watching, not the
cancellation: it runs in Temporal)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Annotated, Any

import typer

from boxoffice.core.cli_runner import Parts, run
from boxoffice.events.cli import ActorOpt, JsonOpt, TimeOpt, body, events_app, show_json, who

__all__ = ["events_app"]

ReasonOpt = Annotated[str, typer.Option("--reason", help="Told to every buyer; kept in the log.")]
#: Seconds between two looks at a cancellation's progress.
_POLL_SECONDS = 0.5


def _lifecycle(parts: Parts) -> Any:
    from boxoffice.events.lifecycle.service import EventLifecycle

    return EventLifecycle(parts.sessions, parts.temporal, parts.settings)


@events_app.command("cancel")
def cancel(
    event_id: uuid.UUID,
    reason: ReasonOpt,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what it would do.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Show progress to the end.")
    ] = True,
    who_acts: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cancel the event and refund every buyer (--dry-run: only say what it would do).

    Sales stop, holds are released, every paid order is refunded through its own run, every
    buyer gets one email; a progress bar shows it to the end."""
    from boxoffice.events.cli_view import print_progress
    from boxoffice.events.lifecycle.schemas import CancelEventIn

    if dry_run:
        preview = run(lambda parts: _lifecycle(parts).preview(event_id))
        if as_json:
            show_json(preview)
        else:
            _print_preview(preview)
        return
    if not yes:
        if not sys.stdin.isatty():
            typer.echo("error: cancelling refunds every buyer: confirm with --yes", err=True)
            raise typer.Exit(2)
        typer.confirm(
            f"Cancel {event_id} and refund every buyer? This cannot be undone", abort=True
        )
    request = body(CancelEventIn, {"reason": reason, "confirm": str(event_id)})

    async def cancel_and_watch(parts: Parts) -> Any:
        lifecycle = _lifecycle(parts)
        started = await lifecycle.cancel(event_id, request, who(who_acts))
        if not wait or as_json:
            return started
        return await _watch(lifecycle, event_id, started)

    final = run(cancel_and_watch)
    if as_json:
        show_json(final)
    else:
        print_progress(final)
    if final.failed:
        raise typer.Exit(1)


async def _watch(lifecycle: Any, event_id: uuid.UUID, progress: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task("refunding and telling buyers", total=max(progress.orders_total, 1))
        while progress.status != "done":
            bar.update(task, completed=progress.done, total=max(progress.orders_total, 1))
            await asyncio.sleep(_POLL_SECONDS)
            progress = await lifecycle.progress(event_id)
        bar.update(task, completed=max(progress.done, 1), total=max(progress.orders_total, 1))
    return progress


@events_app.command("cancellation")
def cancellation(event_id: uuid.UUID, as_json: JsonOpt = False) -> None:
    """How far an event's cancellation is: done, failed (in needs_attention) and left."""
    from boxoffice.events.cli_view import print_progress

    found = run(lambda parts: _lifecycle(parts).progress(event_id), lazy_temporal=True)
    if as_json:
        show_json(found)
    else:
        print_progress(found)


@events_app.command("postpone")
def postpone(
    event_id: uuid.UUID,
    starts_at: Annotated[str, typer.Option(help="The new start, with a time zone.")],
    reason: ReasonOpt,
    ends_at: TimeOpt = None,
    refund_cutoff_hours: Annotated[
        int | None, typer.Option(min=0, help="Buyers may cancel until this long before it.")
    ] = None,
    who_acts: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move the event to a new date and tell every buyer.

    Tickets stay valid; buyers may cancel for a refund until the new deadline; sales pause
    until `boxoffice events update EVENT --status on_sale`."""
    from boxoffice.events.lifecycle.schemas import PostponeIn

    request = body(
        PostponeIn,
        {
            "starts_at": starts_at,
            "ends_at": ends_at,
            "reason": reason,
            "refund_cutoff_hours": refund_cutoff_hours,
        },
    )
    answer = run(lambda parts: _lifecycle(parts).postpone(event_id, request, who(who_acts)))
    if as_json:
        show_json(answer)
        return
    typer.echo(
        f"postponed to {answer.event.starts_at.isoformat()}; buyers may cancel for a refund "
        f"until {answer.refund_deadline.isoformat()}; telling them: workflow {answer.run_id}"
    )
    typer.echo(f"sales are paused: boxoffice events update {event_id} --status on_sale")


def _print_preview(preview: Any) -> None:
    from boxoffice.orders.tickets.pdf import format_price

    by_status = ", ".join(f"{s} {n}" for s, n in preview.orders_by_status.items()) or "none"
    refunds = ", ".join(format_price(m.amount, m.currency) for m in preview.refunds) or "nothing"
    typer.echo(f"orders by status: {by_status}")
    typer.echo(f"would refund {preview.orders_to_refund} orders: {refunds}")
    typer.echo(f"would release {preview.holds_to_release} holds and email {preview.emails} buyers")
