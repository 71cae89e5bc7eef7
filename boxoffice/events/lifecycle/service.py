"""EventLifecycle: cancelling an event (a preview first, then every buyer refunded) and
postponing it (every buyer told the new date), and the progress of a cancellation.

The event's row is locked and its status changed in one transaction, so sales stop at that
moment (a reservation reads the event FOR SHARE and waits for it); the run that acts on every
order is started after the commit, with a workflow id from the event, so it runs once however
often it is asked. When Temporal is away at that moment the change is kept and asking again
starts the run: nothing is lost and nothing runs twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from boxoffice.core.database.models import Event, EventCancellation
from boxoffice.core.errors import ErrorKind
from boxoffice.core.settings import Settings
from boxoffice.core.temporal import search_attributes as sa
from boxoffice.events import repository
from boxoffice.events.domain import EventError, EventStatus, no_such_event
from boxoffice.events.editing import locked_event
from boxoffice.events.lifecycle import progress
from boxoffice.events.lifecycle.messages import CANCEL, POSTPONE, EventRun
from boxoffice.events.lifecycle.schemas import (
    CancelEventIn,
    CancellationPreview,
    CancellationProgress,
    PostponeAnswer,
    PostponeIn,
)
from boxoffice.events.lifecycle.workflow import (
    EventCancellationWorkflow,
    EventPostponementWorkflow,
    cancellation_workflow_id,
    postponement_workflow_id,
)
from boxoffice.events.service import organiser_view
from boxoffice.orders.client import pipeline_config
from boxoffice.orders.domain import refund_deadline

_NOT_STARTED = (
    "The change is saved, but the order service is unavailable, so its buyers are not being "
    "told yet: repeat this request in a few seconds to start that."
)


class EventLifecycle:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], temporal: Client, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._temporal = temporal
        self._settings = settings

    # --- cancelling ----------------------------------------------------------------------

    async def preview(self, event_id: uuid.UUID) -> CancellationPreview:
        """What cancelling would do, changing nothing."""
        async with self._sessions() as session:
            event = await _event(session, event_id)
            _refuse_cancel(event)
            return await progress.preview(session, event.id)

    async def cancel(
        self, event_id: uuid.UUID, body: CancelEventIn, actor: str
    ) -> CancellationProgress:
        """Stop sales and start refunding every buyer; asked again, it starts a run that
        Temporal's absence kept from starting, and otherwise refuses (409)."""
        if body.confirm != str(event_id):
            raise EventError(
                ErrorKind.INVALID,
                "confirm: send the event's id to cancel it (every buyer is refunded; it cannot "
                'be undone), or "dry_run": true to see what would happen.',
            )
        async with self._sessions() as session, session.begin():
            event = await locked_event(session, event_id)
            already = event.status == EventStatus.CANCELLED
            if not already:
                _refuse_cancel(event)
                open_orders = await progress.open_orders(session, event.id)
                before, event.status = event.status, EventStatus.CANCELLED
                session.add(
                    EventCancellation(
                        event_id=event.id,
                        actor=actor,
                        reason=body.reason,
                        status="running",
                        orders_total=open_orders,
                    )
                )
                repository.audit(
                    session,
                    event.id,
                    actor,
                    "event.cancel",
                    {"status": [before, EventStatus.CANCELLED]},
                    reason=body.reason,
                )
            record = await session.get(EventCancellation, event.id)
            if record is None:  # cancelled before cancellations were recorded
                raise EventError(ErrorKind.REFUSED, "This event is already cancelled.")
            run = EventRun(
                event_id=str(event.id),
                run_id=cancellation_workflow_id(str(event.id)),
                kind=CANCEL,
                reason=record.reason,
                actor=record.actor,
                window=self._settings.event_run_window,
                config=pipeline_config(self._settings),
            )
        started = await self._start(EventCancellationWorkflow.run, run)
        if already and not started:
            raise EventError(
                ErrorKind.REFUSED,
                f"This event was cancelled by {record.actor} at "
                f"{record.started_at.isoformat()}: see GET /events/{event_id}/cancellation.",
            )
        return await self.progress(event_id)

    async def progress(self, event_id: uuid.UUID) -> CancellationProgress:
        async with self._sessions() as session:
            found = await progress.of_cancellation(session, event_id)
        if found is None:
            raise EventError(ErrorKind.NOT_FOUND, f"Event {event_id} has not been cancelled.")
        return found

    # --- postponing ----------------------------------------------------------------------

    async def postpone(self, event_id: uuid.UUID, body: PostponeIn, actor: str) -> PostponeAnswer:
        """Move the event to a new date and tell every buyer; sales pause (PATCH the status
        to on_sale to reopen them). Asked again with the same date, it starts a run that
        Temporal's absence kept from starting, and otherwise refuses (409)."""
        now = datetime.now(UTC)
        if body.starts_at <= now:
            raise EventError(ErrorKind.INVALID, "starts_at: the new date must be in the future.")
        async with self._sessions() as session, session.begin():
            event = await locked_event(session, event_id)
            again = event.status == EventStatus.POSTPONED and event.starts_at == body.starts_at
            if not again:
                _refuse_postpone(event, body)
                changes = _postpone(event, body)
                repository.audit(
                    session, event.id, actor, "event.postpone", changes, reason=body.reason
                )
            deadline = refund_deadline(event.starts_at, event.refund_cutoff_hours)
            run = EventRun(
                event_id=str(event.id),
                run_id=postponement_workflow_id(str(event.id), event.postponements),
                kind=POSTPONE,
                number=event.postponements,
                reason=body.reason,
                actor=actor,
                window=self._settings.event_run_window,
                starts_at=event.starts_at,
                refund_deadline=deadline,
                config=pipeline_config(self._settings),
            )
            shown = await organiser_view(session, event)
        started = await self._start(EventPostponementWorkflow.run, run)
        if again and not started:
            raise EventError(
                ErrorKind.REFUSED,
                f"This event is already postponed to {body.starts_at.isoformat()}; its buyers "
                "have been told.",
            )
        return PostponeAnswer(event=shown, run_id=run.run_id, refund_deadline=deadline)

    # --- the runs ------------------------------------------------------------------------

    async def _start(self, workflow_run: object, run: EventRun) -> bool:
        """Start the run once; False when it was started before (it may have finished)."""
        try:
            await self._temporal.start_workflow(
                workflow_run,  # type: ignore[arg-type]
                run,
                id=run.run_id,
                task_queue=self._settings.task_queue_purchases,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(sa.EVENT_ID, run.event_id)]
                ),
            )
        except WorkflowAlreadyStartedError:
            return False
        except RPCError:
            raise EventError(ErrorKind.UNAVAILABLE, _NOT_STARTED) from None
        return True


async def _event(session: AsyncSession, event_id: uuid.UUID) -> Event:
    event = await repository.readable(session, event_id, drafts=True)
    if event is None:
        raise no_such_event(event_id)
    return event


def _refuse_cancel(event: Event) -> None:
    if event.status == EventStatus.CANCELLED:
        raise EventError(
            ErrorKind.REFUSED,
            f"This event is already cancelled: see GET /events/{event.id}/cancellation.",
        )
    if event.status == EventStatus.OVER:
        raise EventError(
            ErrorKind.REFUSED, "This event is over: refund its orders one by one if need be."
        )


def _refuse_postpone(event: Event, body: PostponeIn) -> None:
    if event.status in (EventStatus.CANCELLED, EventStatus.OVER):
        raise EventError(ErrorKind.REFUSED, f"This event is {event.status}: it cannot move.")
    if event.status == EventStatus.DRAFT:
        raise EventError(
            ErrorKind.REFUSED, "A draft has no buyers to tell: PATCH its starts_at instead."
        )
    if body.starts_at == event.starts_at:
        raise EventError(ErrorKind.INVALID, "starts_at: that is the event's date already.")
    ends = body.ends_at
    if ends is not None and ends <= body.starts_at:
        raise EventError(ErrorKind.INVALID, "ends_at: must be after starts_at.")


def _postpone(event: Event, body: PostponeIn) -> dict[str, list[object]]:
    """Set the new date (and end, and cutoff) on the row; what changed, for the audit log."""
    changes: dict[str, list[object]] = {
        "starts_at": [event.starts_at.isoformat(), body.starts_at.isoformat()],
        "status": [event.status, EventStatus.POSTPONED],
    }
    if event.ends_at is not None or body.ends_at is not None:
        # An end that came before the new start would be wrong: it moves too, or goes.
        ends = body.ends_at
        if ends is None and event.ends_at is not None:
            ends = body.starts_at + (event.ends_at - event.starts_at)
        changes["ends_at"] = [
            event.ends_at.isoformat() if event.ends_at else None,
            ends.isoformat() if ends else None,
        ]
        event.ends_at = ends
    if body.refund_cutoff_hours is not None:
        changes["refund_cutoff_hours"] = [event.refund_cutoff_hours, body.refund_cutoff_hours]
        event.refund_cutoff_hours = body.refund_cutoff_hours
    event.starts_at = body.starts_at
    event.status = EventStatus.POSTPONED
    event.postponements += 1
    return changes
