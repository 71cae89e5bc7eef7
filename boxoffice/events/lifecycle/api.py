"""Organiser routes for an event's end of life, for admin tokens only: cancel (a dry run first),
its progress, and postpone. Thin: EventLifecycle does the work."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from boxoffice.auth.access import STAFF_ERRORS, require_roles
from boxoffice.auth.principal import Principal
from boxoffice.core.http.errors import raise_http
from boxoffice.core.http.fields import ErrorBody
from boxoffice.events.domain import EventError
from boxoffice.events.lifecycle.schemas import (
    CancelEventIn,
    CancellationPreview,
    CancellationProgress,
    PostponeAnswer,
    PostponeIn,
)
from boxoffice.events.lifecycle.service import EventLifecycle

_admin = require_roles("admin")
Organiser = Annotated[Principal, Depends(_admin)]
router = APIRouter(tags=["admin"], dependencies=[Depends(_admin)], responses=STAFF_ERRORS)
_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such event"},
    409: {"model": ErrorBody, "description": "Already cancelled, over, or postponed to that date"},
    422: {"model": ErrorBody, "description": "A bad body, or a cancel without confirm"},
    503: {"model": ErrorBody, "description": "Saved, but the run could not start: ask again"},
}


async def get_lifecycle(request: Request) -> EventLifecycle:
    lifecycle: EventLifecycle = request.app.state.event_lifecycle
    return lifecycle


LifecycleDep = Annotated[EventLifecycle, Depends(get_lifecycle)]


@router.post(
    "/events/{event_id}/cancel",
    response_model=CancellationPreview | CancellationProgress,
    responses={
        **_ERRORS,
        200: {"model": CancellationPreview, "description": "dry_run: what it would do"},
        202: {"model": CancellationProgress, "description": "Cancelled; buyers being refunded"},
    },
)
async def cancel_event(
    event_id: uuid.UUID,
    body: CancelEventIn,
    lifecycle: LifecycleDep,
    organiser: Organiser,
    response: Response,
) -> CancellationPreview | CancellationProgress:
    """`{"reason", "dry_run": true}` answers what a cancellation would do; `{"reason",
    "confirm": "<event id>"}` stops sales and starts one EventCancellationWorkflow: every hold
    released, every paid order refunded through its own run, every buyer one email."""
    try:
        if body.dry_run:
            return await lifecycle.preview(event_id)
        started = await lifecycle.cancel(event_id, body, organiser.subject)
    except EventError as refused:
        raise_http(refused)
    response.status_code = 202
    response.headers["Location"] = f"/events/{event_id}/cancellation"
    return started


@router.get(
    "/events/{event_id}/cancellation", response_model=CancellationProgress, responses=_ERRORS
)
async def cancellation_progress(
    event_id: uuid.UUID, lifecycle: LifecycleDep
) -> CancellationProgress:
    """How far the cancellation is: orders done, failed (in needs_attention) and left."""
    try:
        return await lifecycle.progress(event_id)
    except EventError as refused:
        raise_http(refused)


@router.post(
    "/events/{event_id}/postpone", status_code=202, response_model=PostponeAnswer, responses=_ERRORS
)
async def postpone_event(
    event_id: uuid.UUID, body: PostponeIn, lifecycle: LifecycleDep, organiser: Organiser
) -> PostponeAnswer:
    """Move the event to a new date: every buyer is emailed once, tickets stay valid, buyers
    may cancel for a refund until the new deadline, and sales pause until the status is set
    to on_sale again."""
    try:
        return await lifecycle.postpone(event_id, body, organiser.subject)
    except EventError as refused:
        raise_http(refused)
