"""The order page: its status (polled by the page's script while the tickets are issued), each
ticket's QR code, the PDF, and cancelling or refunding as the event's policy allows, in plain
words and with the reason when it does not. Reached from the checkout and from the tickets
email, whose link carries the guest's token once: the page moves it into a cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from qrcode import make as make_qr
from qrcode.image.svg import SvgPathImage
from starlette.responses import Response

from boxoffice.auth.order_tokens import token_matches
from boxoffice.core.errors import DomainError, ErrorKind
from boxoffice.orders.domain import FINAL, PAID, OrderStatus
from boxoffice.orders.schemas import OrderPublic
from boxoffice.orders.service import OrderService, RefundTerms
from boxoffice.storefront.guards import CheckedForm
from boxoffice.storefront.pages.common import (
    ORDER_COOKIE,
    NotYours,
    may_open,
    not_found,
    order_path,
)
from boxoffice.storefront.web import finish, render, set_cookie

router = APIRouter(include_in_schema=False)
#: While the page waits for these, its script asks again every two seconds (a held order's
#: page too: its hold may end, or another tab pay it, while the buyer looks at it).
_WAITING = frozenset(
    {OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.PAYING, OrderStatus.PAID}
)


def _orders(request: Request) -> OrderService:
    service: OrderService = request.app.state.orders
    return service


@router.get("/shop/orders/{order_id}")
async def order_page(request: Request, order_id: str, token: str | None = None) -> Response:
    if token is not None:
        return _take_token(request, order_id, token)
    return await _show(request, order_id, "order.html")


@router.get("/shop/orders/{order_id}/status")
async def order_status(request: Request, order_id: str) -> Response:
    """The part of the page that changes, for the page's script to swap in."""
    return await _show(request, order_id, "order_body.html")


@router.post("/shop/orders/{order_id}/cancel")
async def cancel(request: Request, order_id: str, form: CheckedForm) -> Response:
    """Let held seats go, or cancel a paid order for its refund while the event allows."""
    try:
        await may_open(request, order_id)
        await _orders(request).cancel(order_id, "Cancelled by the buyer on the order page.")
    except NotYours:
        return not_found(request)
    except DomainError as refused:
        if refused.kind == ErrorKind.NOT_FOUND:
            return not_found(request)
        return await _show(request, order_id, "order.html", refused.message, 409)
    return RedirectResponse(order_path(order_id), status_code=303)


@router.get("/shop/orders/{order_id}/tickets.pdf")
async def tickets_pdf(request: Request, order_id: str) -> Response:
    try:
        await may_open(request, order_id)
        body = await _orders(request).tickets_pdf(order_id)
    except (NotYours, DomainError):
        return not_found(request)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="tickets-{order_id}.pdf"'},
    )


def _take_token(request: Request, order_id: str, token: str) -> Response:
    """The email's link: keep its token in this order's cookie and show the address without
    it, so it stays out of the browser's history and of links shared from the page."""
    response = RedirectResponse(order_path(order_id), status_code=303)
    finish(request, response)
    if token_matches(request.app.state.order_token_secret, order_id, token):
        set_cookie(
            response, request, ORDER_COOKIE, token, path=order_path(order_id), max_age=90 * 86400
        )
    return response


async def _show(
    request: Request, order_id: str, template: str, error: str | None = None, status: int = 200
) -> Response:
    try:
        await may_open(request, order_id)
        order = await _orders(request).find(order_id)
    except (NotYours, DomainError):
        return not_found(request)
    event = await request.app.state.events.event(order.event_id) if order else None
    terms = await _terms(request, order)
    return render(
        request,
        template,
        status_code=status,
        order_id=order_id,
        order=order,
        event=event,
        terms=terms,
        error=error,
        waiting=order is None or order.status in _WAITING,
        final=order is not None and order.status in FINAL,
        qr=_qr,
    )


async def _terms(request: Request, order: OrderPublic | None) -> RefundTerms | None:
    if order is None or order.status not in PAID:
        return None
    try:
        return await _orders(request).refund_terms(order.id)
    except DomainError:
        return None  # Temporal away for a moment: the page shows no refund button meanwhile


def _qr(code: str) -> Markup:
    """A ticket's QR code as inline SVG (drawn by us from the signed code: safe markup)."""
    svg = make_qr(code, image_factory=SvgPathImage, border=2).to_string(encoding="unicode")
    return Markup(svg)
