"""Buyer routes: create, read, pay, cancel an order, and download its tickets."""

from __future__ import annotations

import asyncio
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.auth.access import (
    ORDER_ERRORS,
    RATE_LIMITED,
    OptionalPrincipal,
    client_address,
    enforce_rate_limit,
    order_access,
    order_link_access,
)
from boxoffice.auth.buyer_identity import buyer_key, client_key
from boxoffice.auth.idempotency_keys import guest_key_refusal
from boxoffice.auth.order_tokens import order_token
from boxoffice.core.database.models import Order
from boxoffice.core.http.deps import SessionDep, SessionsDep, SettingsDep, TemporalDep
from boxoffice.core.s3 import read_object
from boxoffice.orders.creation import OrderRefused, Requester, create_order, workflow_exists
from boxoffice.orders.messages import CancelRequest, PayRequest
from boxoffice.orders.repository.read_model import load_order
from boxoffice.orders.schemas import (
    CancelIn,
    ErrorBody,
    OrderCreate,
    OrderIdPath,
    OrderPending,
    OrderPublic,
    PaymentIn,
    PaymentOutcome,
)
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

router = APIRouter(tags=["orders"])
#: On every route about one order: its owner, its guest token, support or admin.
_OWNER_ONLY = [Depends(order_access)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Repeat a create safely: the same key always gives the same order. "
        "Without a bearer token it must be random, at least 128 bits (a random UUID, 32 hex "
        "digits): for a guest it is what a retry proves the order is theirs with.",
    ),
]
_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody},
}


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderPublic,
    responses={
        **_ERRORS,
        202: {"model": OrderPending},
        401: {"model": ErrorBody, "description": "An invalid bearer token"},
        413: {"model": ErrorBody},
        **RATE_LIMITED,
    },
)
async def post_order(
    body: OrderCreate,
    request: Request,
    sessions: SessionsDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    response: Response,
    principal: OptionalPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> OrderPublic | JSONResponse:
    """Hold seats: answers once the reservation is decided (201, or 409 sold out), or 202 with
    a Location to poll when it takes longer than a few seconds.

    With a bearer token the order belongs to that account; without one (guest checkout) the
    answer's `access_token` is what proves the order is yours."""
    account = principal.subject if principal is not None else None
    if account is None and idempotency_key is not None:
        refusal = guest_key_refusal(idempotency_key)
        if refusal is not None:
            raise HTTPException(422, refusal)
    buyer = buyer_key(account, str(body.buyer.email))
    await enforce_rate_limit(
        request, f"orders:ip:{client_address(request)}", settings.rate_limit_orders_per_client
    )
    await enforce_rate_limit(request, f"orders:{buyer}", settings.rate_limit_orders_per_buyer)
    try:
        outcome = await create_order(
            sessions,
            temporal,
            settings,
            body,
            idempotency_key,
            Requester(
                account, client_key(request.app.state.order_token_secret, client_address(request))
            ),
            memo=request.app.state.sold_out,
            turns=request.app.state.admission_turns,
        )
    except OrderRefused as refused:
        raise HTTPException(refused.status, refused.detail) from None
    except RPCError as error:
        raise HTTPException(503, f"The order service is unavailable: {error.message}") from None
    location = f"/orders/{outcome.order_id}"
    # An account's order opens with the account; a token beside it would be one more key.
    access_token = (
        order_token(request.app.state.order_token_secret, outcome.order_id)
        if account is None
        else None
    )
    if not outcome.decided:
        return JSONResponse(
            OrderPending(
                id=outcome.order_id,
                detail="The reservation is being decided; poll Location.",
                access_token=access_token,
            ).model_dump(),
            status_code=202,
            headers={"Location": location},
        )
    async with sessions() as session:
        order = await load_order(session, outcome.order_id)
    if order is None:  # pragma: no cover - the reservation writes the row before answering
        raise HTTPException(500, "The order was reserved but its record is missing.")
    response.headers["Location"] = location
    return order.model_copy(update={"access_token": access_token})


@router.get(
    "/orders/{order_id}",
    response_model=OrderPublic,
    responses={**ORDER_ERRORS, 202: {"model": OrderPending}},
    dependencies=_OWNER_ONLY,
)
async def get_order(
    order_id: OrderIdPath, session: SessionDep, temporal: TemporalDep
) -> OrderPublic | JSONResponse:
    order = await load_order(session, order_id)
    if order is not None:
        return order
    if _plausible_id(order_id) and await workflow_exists(temporal, order_id):
        return JSONResponse(
            OrderPending(id=order_id, detail="The reservation is being decided.").model_dump(),
            status_code=202,
        )
    raise HTTPException(404, f"No order with id {order_id}.")


@router.post(
    "/orders/{order_id}/payment",
    response_model=PaymentOutcome,
    responses={**_ERRORS, **ORDER_ERRORS, 402: {"model": PaymentOutcome}, **RATE_LIMITED},
    dependencies=_OWNER_ONLY,
)
async def pay_order(
    order_id: OrderIdPath,
    body: PaymentIn,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> PaymentOutcome | JSONResponse:
    """Pay the held seats. A decline answers 402 and the order stays reserved: try another
    card until the hold ends. 3-D Secure answers `requires_action` with the client secret.
    Attempts are limited per order and per client (429, the hold unchanged): trying card
    after card is how stolen cards are tested."""
    attempts = request.app.state.metrics.payment_attempts
    try:
        await enforce_rate_limit(
            request,
            f"payments:ip:{client_address(request)}",
            settings.rate_limit_payments_per_client,
        )
    except HTTPException:
        attempts.labels("limited_client").inc()
        raise
    await _require_order(session, order_id)
    handle = temporal.get_workflow_handle(order_id, result_type=str)
    try:
        result = await asyncio.wait_for(
            handle.execute_update(PurchaseWorkflow.pay, PayRequest(body.payment_method)),
            timeout=settings.payment_timeout_seconds * 3,
        )
    except TimeoutError:
        raise HTTPException(503, "The payment is taking too long; check the order.") from None
    except (WorkflowUpdateFailedError, RPCError) as error:
        if _refusal_type(error) == "TooManyPaymentAttempts":
            attempts.labels("limited_order").inc()
        _refuse(error)
    attempts.labels(result.status).inc()
    order = await load_order(session, order_id)
    outcome = PaymentOutcome(
        status=result.status,
        decline_reason=result.decline_reason,
        payment_intent_id=result.payment_intent_id,
        client_secret=result.client_secret,
        order=order,
    )
    if result.status == "declined":
        return JSONResponse(outcome.model_dump(mode="json"), status_code=402)
    return outcome


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderPublic,
    responses={**_ERRORS, **ORDER_ERRORS},
    dependencies=_OWNER_ONLY,
)
async def cancel_order(
    order_id: OrderIdPath,
    session: SessionDep,
    temporal: TemporalDep,
    body: CancelIn | None = None,
) -> OrderPublic:
    """During the hold: release the seats (`cancelled`). After payment, while the event's refund
    policy allows and no ticket was used: refund, void the tickets, release (`refunded`)."""
    await _require_order(session, order_id)
    handle = temporal.get_workflow_handle(order_id, result_type=str)
    try:
        await handle.execute_update(
            PurchaseWorkflow.cancel, CancelRequest(reason=body.reason if body else None)
        )
    except (WorkflowUpdateFailedError, RPCError) as error:
        _refuse(error)
    order = await load_order(session, order_id)
    assert order is not None
    return order


@router.get(
    "/orders/{order_id}/tickets.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **ORDER_ERRORS},
    dependencies=[Depends(order_link_access)],
)
async def tickets_pdf(order_id: OrderIdPath, session: SessionDep, request: Request) -> Response:
    order = await session.get(Order, order_id)
    if order is None:
        raise HTTPException(404, f"No order with id {order_id}.")
    key = order.tickets_pdf_key
    if key is None:
        raise HTTPException(404, f"The tickets of order {order_id} are not issued yet.")
    await session.rollback()  # hold no connection while reading from S3
    settings = request.app.state.settings
    body = await asyncio.to_thread(read_object, request.app.state.s3, settings.s3_bucket, key)
    if body is None:
        raise HTTPException(404, "The tickets document is missing from storage.")
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="tickets-{order_id}.pdf"'},
    )


async def _require_order(session: SessionDep, order_id: str) -> None:
    """404 for an unknown order; then hold no connection while waiting on the workflow."""
    exists = await session.get(Order, order_id) is not None
    await session.rollback()
    if not exists:
        raise HTTPException(404, f"No order with id {order_id}.")


def _refuse(error: WorkflowUpdateFailedError | RPCError) -> NoReturn:
    """Map the workflow's refusal (its validator, or a closed run) to a clear 409."""
    if isinstance(error, RPCError):
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(409, "This order is closed; nothing more can change.") from None
        raise HTTPException(503, f"The order service is unavailable: {error.message}") from None
    cause = error.cause
    if isinstance(cause, ApplicationError):
        status = 429 if cause.type == "TooManyPaymentAttempts" else 409
        raise HTTPException(status, cause.message) from None
    raise HTTPException(409, str(cause or error)) from None


def _refusal_type(error: WorkflowUpdateFailedError | RPCError) -> str | None:
    cause = error.cause if isinstance(error, WorkflowUpdateFailedError) else None
    return cause.type if isinstance(cause, ApplicationError) else None


def _plausible_id(order_id: str) -> bool:
    return order_id.startswith("ord_") and len(order_id) <= 64
