"""Checkout: the held seats with a countdown to the hold's end, the card fields of Stripe.js,
and the payment itself, which the page's script posts here with the card's one-time token.
A decline keeps the hold (another card may be tried); 3-D Secure is finished by Stripe.js in
the page; a double click cannot pay twice (the order's run takes one attempt at a time and
none once one succeeded)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from boxoffice.auth.access import client_address, enforce_rate_limit
from boxoffice.core.errors import DomainError, ErrorKind
from boxoffice.orders.card_tokens import CardTokens
from boxoffice.orders.domain import OrderStatus
from boxoffice.orders.service import OrderService
from boxoffice.storefront.guards import checked_script
from boxoffice.storefront.pages.common import NotYours, may_open, not_found, order_path
from boxoffice.storefront.web import redirect, render

router = APIRouter(include_in_schema=False)


def _orders(request: Request) -> OrderService:
    service: OrderService = request.app.state.orders
    return service


@router.get("/shop/orders/{order_id}/checkout")
async def checkout_page(request: Request, order_id: str) -> Response:
    try:
        await may_open(request, order_id)
        order = await _orders(request).find(order_id)
    except (NotYours, DomainError):
        return not_found(request)
    if order is None or order.status != OrderStatus.RESERVED:
        return redirect(request, order_path(order_id))  # nothing to pay (yet, or any more)
    settings = request.app.state.settings
    event = await request.app.state.events.event(order.event_id)
    return render(
        request,
        "checkout.html",
        order=order,
        event=event,
        stripe_js=settings.stripe_js,
        stripe_key=settings.stripe_publishable_key,
    )


class CardPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=5, max_length=250)


@router.post("/shop/orders/{order_id}/pay", dependencies=[Depends(checked_script)])
async def pay(request: Request, order_id: str, body: CardPayment) -> Response:
    """The checkout script's payment: {status, decline_reason, client_secret} as JSON."""
    try:
        await may_open(request, order_id)
    except NotYours:
        return JSONResponse({"detail": "No such order."}, status_code=404)
    settings = request.app.state.settings
    try:
        await enforce_rate_limit(
            request,
            f"payments:ip:{client_address(request)}",
            settings.rate_limit_payments_per_client,
        )
        tokens: CardTokens = request.app.state.card_tokens
        method = await tokens.payment_method(body.token)
        payment = await _orders(request).pay(order_id, method)
    except HTTPException as limited:
        return JSONResponse({"detail": limited.detail}, status_code=limited.status_code)
    except DomainError as refused:
        status = 503 if refused.kind == ErrorKind.UNAVAILABLE else 409
        return JSONResponse({"detail": refused.message}, status_code=status)
    result = payment.result
    return JSONResponse(
        {
            "status": result.status,
            "decline_reason": result.decline_reason,
            "client_secret": result.client_secret,
            "hold_expires_at": (
                payment.order.hold_expires_at.isoformat()
                if payment.order and payment.order.hold_expires_at
                else None
            ),
        }
    )
