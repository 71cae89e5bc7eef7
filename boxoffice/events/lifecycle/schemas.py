"""Request and answer bodies of cancelling and postponing an event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from boxoffice.core.http.fields import Money, Strict, Whole, visible_text
from boxoffice.events.schemas import EventAdmin, EventTime

Reason = Annotated[str, visible_text(500)]


class CancelEventIn(Strict):
    reason: Reason = Field(description="Told to every buyer, and kept in the audit log.")
    dry_run: bool = Field(
        default=False, strict=True, description="Only say what a cancellation would do."
    )
    confirm: str | None = Field(
        default=None,
        max_length=36,
        description="The event's id: cancelling refunds every buyer and cannot be undone.",
    )


class CancellationPreview(BaseModel):
    event_id: uuid.UUID
    orders_by_status: dict[str, int]
    refunds: list[Money] = Field(description="What would be refunded, per currency.")
    orders_to_refund: int = Field(description="Paid orders whose payment would go back.")
    holds_to_release: int = Field(description="Unpaid orders whose seats would go back.")
    emails: int = Field(description="Buyers who would be told.")


class CancellationProgress(BaseModel):
    event_id: uuid.UUID
    workflow_id: str = Field(description="The EventCancellationWorkflow's id (Temporal UI).")
    status: str = Field(description="running, or done.")
    reason: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    orders_total: int = Field(description="Open orders when the event was cancelled.")
    done: int = Field(description="Orders acted on and their buyer told.")
    failed: int = Field(description="Orders that could not be refunded: in needs_attention.")
    left: int = Field(description="Orders still to do.")
    failures: dict[str, str] = Field(
        description="Order id -> why it could not be refunded (the first 200)."
    )
    outcomes: dict[str, int] = Field(description="refunded, released, failed, skipped -> orders.")


class PostponeIn(Strict):
    starts_at: EventTime
    ends_at: EventTime | None = None
    reason: Reason = Field(description="Told to every buyer, and kept in the audit log.")
    refund_cutoff_hours: Whole | None = Field(
        default=None,
        ge=0,
        le=24 * 365,
        description="Buyers may cancel for a refund until this long before the new start "
        "(unset: the event's cutoff as it is).",
    )


class PostponeAnswer(BaseModel):
    event: EventAdmin
    run_id: str
    refund_deadline: datetime
