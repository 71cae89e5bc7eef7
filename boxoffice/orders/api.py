"""Buyer routes: create, read, pay, cancel an order, and download its tickets. Thin: each calls
the OrderService and answers its OrderError through the one table (`core/http/errors.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from boxoffice.auth.access import (
    ORDER_ERRORS,
    RATE_LIMITED,
    BearerCredentials,
    client_address,
    enforce_rate_limit,
    optional_principal,
    order_access,
    order_link_access,
)
from boxoffice.auth.buyer_identity import buyer_key, client_key
from boxoffice.auth.order_tokens import order_token
from boxoffice.auth.principal import Principal
from boxoffice.core.errors import DomainError, ErrorKind
from boxoffice.core.http.deps import SettingsDep
from boxoffice.core.http.errors import error_response, raise_http
from boxoffice.core.http.fields import ErrorBody
from boxoffice.core.settings import Settings
from boxoffice.orders.creation import Requester
from boxoffice.orders.schemas import (
    CancelIn,
    OrderCreate,
    OrderIdPath,
    OrderPending,
    OrderPublic,
    PaymentIn,
    PaymentOutcome,
)
from boxoffice.orders.service import OrderService


async def get_order_service(request: Request) -> OrderService:
    service: OrderService = request.app.state.orders
    return service


OrderServiceDep = Annotated[OrderService, Depends(get_order_service)]

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
        401: {
            "model": ErrorBody,
            "description": "An invalid bearer token (checked before any order is made; a "
            "ticket type just seen sold out is answered 409 without reading the token)",
        },
        413: {"model": ErrorBody},
        **RATE_LIMITED,
    },
)
async def post_order(
    body: OrderCreate,
    request: Request,
    credentials: BearerCredentials,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> OrderPublic | JSONResponse:
    """Hold seats: answers once the reservation is decided (201, or 409 sold out), or 202 with
    a Location to poll when it takes longer than a few seconds.

    With a bearer token the order belongs to that account; without one (guest checkout) the
    answer's `access_token` is what proves the order is yours."""
    # Most requests of a flash sale end here, so this route asks only for what this refusal
    # needs (each dependency costs it time): the body, then this process's sold-out memory.
    # Nothing in the answer depends on who asks, and it makes nothing, so neither the token
    # nor the rate limits are looked at first; a rate limit costs a query, more than the
    # refusal it would guard.
    orders: OrderService = request.app.state.orders
    try:
        orders.refuse_if_remembered(body, idempotency_key)
    except DomainError as refused:
        return error_response(refused)
    principal = await optional_principal(request, credentials)
    return await _create(body, request, response, orders, principal, idempotency_key)


async def _create(
    body: OrderCreate,
    request: Request,
    response: Response,
    orders: OrderService,
    principal: Principal | None,
    idempotency_key: str | None,
) -> OrderPublic | JSONResponse:
    """What every request that may make an order goes through: the rate limits, then the
    service."""
    settings: Settings = request.app.state.settings
    account = principal.subject if principal is not None else None
    buyer = buyer_key(account, str(body.buyer.email))
    client = client_address(request)
    await enforce_rate_limit(request, f"orders:ip:{client}", settings.rate_limit_orders_per_client)
    await enforce_rate_limit(request, f"orders:{buyer}", settings.rate_limit_orders_per_buyer)
    secret = request.app.state.order_token_secret
    try:
        outcome = await orders.create(
            body, idempotency_key, Requester(account, client_key(secret, client))
        )
        order = await orders.find(outcome.order_id) if outcome.decided else None
    except DomainError as refused:
        raise_http(refused)
    location = f"/orders/{outcome.order_id}"
    # An account's order opens with the account; a token beside it would be one more key.
    access_token = order_token(secret, outcome.order_id) if account is None else None
    if order is None:
        return JSONResponse(
            OrderPending(
                id=outcome.order_id,
                detail="The reservation is being decided; poll Location.",
                access_token=access_token,
            ).model_dump(),
            status_code=202,
            headers={"Location": location},
        )
    response.headers["Location"] = location
    return order.model_copy(update={"access_token": access_token})


@router.get(
    "/orders/{order_id}",
    response_model=OrderPublic,
    responses={**ORDER_ERRORS, 202: {"model": OrderPending}},
    dependencies=_OWNER_ONLY,
)
async def get_order(order_id: OrderIdPath, orders: OrderServiceDep) -> OrderPublic | JSONResponse:
    try:
        order = await orders.find(order_id)
    except DomainError as refused:
        raise_http(refused)
    if order is None:
        return JSONResponse(
            OrderPending(id=order_id, detail="The reservation is being decided.").model_dump(),
            status_code=202,
        )
    return order


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
    orders: OrderServiceDep,
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
    try:
        payment = await orders.pay(order_id, body.payment_method)
    except DomainError as refused:
        if refused.kind == ErrorKind.TOO_MANY:
            attempts.labels("limited_order").inc()
        raise_http(refused)
    result = payment.result
    attempts.labels(result.status).inc()
    outcome = PaymentOutcome(
        status=result.status,
        decline_reason=result.decline_reason,
        payment_intent_id=result.payment_intent_id,
        client_secret=result.client_secret,
        order=payment.order,
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
    order_id: OrderIdPath, orders: OrderServiceDep, body: CancelIn | None = None
) -> OrderPublic:
    """During the hold: release the seats (`cancelled`). After payment, while the event's refund
    policy allows and no ticket was used: refund, void the tickets, release (`refunded`)."""
    try:
        return await orders.cancel(order_id, body.reason if body else None)
    except DomainError as refused:
        raise_http(refused)


@router.get(
    "/orders/{order_id}/tickets.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **ORDER_ERRORS},
    dependencies=[Depends(order_link_access)],
)
async def tickets_pdf(order_id: OrderIdPath, orders: OrderServiceDep) -> Response:
    try:
        body = await orders.tickets_pdf(order_id)
    except DomainError as refused:
        raise_http(refused)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="tickets-{order_id}.pdf"'},
    )
