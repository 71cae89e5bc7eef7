"""Support's admin API: the same service layer as `boxoffice orders`, over JSON.

For support and admin tokens only; the actor recorded in the audit log and the workflow is the
token's subject, never something the caller types."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from boxoffice.auth.access import STAFF_ERRORS, require_roles
from boxoffice.auth.principal import Principal
from boxoffice.core.http.errors import raise_http
from boxoffice.core.http.fields import NO_NUL, ErrorBody, Whole, visible_text
from boxoffice.orders.domain import OrderError, OrderStatus
from boxoffice.orders.schemas import OrderIdPath
from boxoffice.orders.support import OrderFilter, Outcome, SupportService

_support = require_roles("support", "admin")
Staff = Annotated[Principal, Depends(_support)]
router = APIRouter(
    prefix="/admin/orders",
    tags=["support"],
    dependencies=[Depends(_support)],
    responses=STAFF_ERRORS,
)

Reason = Annotated[str, visible_text(500)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(description="Why (recorded in the audit log and the run).")


class ResendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason | None = None
    to: (
        Annotated[str, StringConstraints(pattern=r"^[^@\s\x00]+@[^@\s\x00]+$", max_length=320)]
        | None
    ) = None


class ExtendIn(ActionIn):
    minutes: Whole = Field(ge=1, le=24 * 60)


class BulkIn(ActionIn):
    # A bulk action over every order is refused: at least one filter, as the schema says.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["status"], "properties": {"status": {"type": "string"}}},
                {"required": ["event_id"], "properties": {"event_id": {"type": "string"}}},
            ]
        },
    )
    status: OrderStatus | None = None
    event_id: uuid.UUID | None = None


class OutcomeOut(BaseModel):
    order_id: str
    action: str
    ok: bool
    status: str | None
    detail: str


def _service(request: Request) -> SupportService:
    state = request.app.state
    return SupportService(state.sessions, state.order_client, state.settings)


def _answer(outcome: Outcome) -> OutcomeOut:
    if not outcome.ok:
        raise HTTPException(409, outcome.detail)
    return OutcomeOut(**asdict(outcome))


async def _guard(call: Any) -> Any:
    try:
        return await call
    except OrderError as error:
        raise_http(error)


# Before the /{order_id}/... routes, which would otherwise take "bulk" for an order id.
@router.post("/bulk/{action}", response_model=list[OutcomeOut], responses=_ERRORS)
async def bulk(
    action: Literal["retry", "cancel"], body: BulkIn, request: Request, staff: Staff
) -> list[OutcomeOut]:
    """Retry or cancel every order a status/event filter matches; each outcome is listed."""
    where = OrderFilter(status=body.status, event_id=body.event_id, limit=1000)
    outcomes = await _guard(_service(request).bulk(action, where, staff.subject, body.reason))
    return [OutcomeOut(**asdict(o)) for o in outcomes]


@router.get("", responses=_ERRORS)
async def list_orders(
    request: Request,
    status: OrderStatus | None = None,
    event_id: uuid.UUID | None = None,
    buyer_email: Annotated[str | None, Query(max_length=320, pattern=NO_NUL)] = None,
    created_before: datetime | None = None,
    created_after: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Orders by status (e.g. needs_attention), event, buyer, age; each with its Temporal link."""
    found = await _service(request).list_orders(
        OrderFilter(status, event_id, buyer_email, created_before, created_after, limit)
    )
    return [asdict(o) for o in found]


@router.get("/{order_id}", responses=_ERRORS)
async def show_order(order_id: OrderIdPath, request: Request) -> dict[str, Any]:
    """The order, holds, payments, refunds (and of payments it did not keep), tickets, emails,
    audit trail and workflow state."""
    detail = await _guard(_service(request).show(order_id))
    return asdict(detail)


@router.post("/{order_id}/retry", response_model=OutcomeOut, responses=_ERRORS)
async def retry(
    order_id: OrderIdPath, body: ActionIn, request: Request, staff: Staff
) -> OutcomeOut:
    return _answer(await _guard(_service(request).retry(order_id, staff.subject, body.reason)))


@router.post("/{order_id}/cancel", response_model=OutcomeOut, responses=_ERRORS)
async def cancel(
    order_id: OrderIdPath, body: ActionIn, request: Request, staff: Staff
) -> OutcomeOut:
    return _answer(await _guard(_service(request).cancel(order_id, staff.subject, body.reason)))


@router.post("/{order_id}/refund", response_model=OutcomeOut, responses=_ERRORS)
async def refund(
    order_id: OrderIdPath, body: ActionIn, request: Request, staff: Staff
) -> OutcomeOut:
    return _answer(await _guard(_service(request).refund(order_id, staff.subject, body.reason)))


@router.post("/{order_id}/resend", response_model=OutcomeOut, responses=_ERRORS)
async def resend(
    order_id: OrderIdPath, body: ResendIn, request: Request, staff: Staff
) -> OutcomeOut:
    service = _service(request)
    return _answer(
        await _guard(service.resend(order_id, staff.subject, body.reason or "", body.to))
    )


@router.post("/{order_id}/extend", response_model=OutcomeOut, responses=_ERRORS)
async def extend(
    order_id: OrderIdPath, body: ExtendIn, request: Request, staff: Staff
) -> OutcomeOut:
    service = _service(request)
    return _answer(await _guard(service.extend(order_id, staff.subject, body.minutes, body.reason)))
