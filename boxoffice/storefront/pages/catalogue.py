"""The events on sale, an event's page, and reserving seats from it. Thin: the event service
says what is on sale and the order service holds the seats, with the same rules as the API."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from boxoffice.auth.access import client_address, enforce_rate_limit
from boxoffice.auth.buyer_identity import buyer_key, client_key
from boxoffice.auth.order_tokens import order_token
from boxoffice.core.errors import DomainError
from boxoffice.events.availability import BUYABLE
from boxoffice.events.service import EventService
from boxoffice.orders.creation import Requester
from boxoffice.orders.schemas import OrderCreate
from boxoffice.orders.service import OrderService
from boxoffice.storefront.guards import CheckedForm, SignedIn, form_text
from boxoffice.storefront.pages.common import ORDER_COOKIE, not_found, order_path
from boxoffice.storefront.web import (
    answer,
    csrf_token,
    gettext,
    locale_of,
    page,
    redirect,
    render,
    set_cookie,
    shop_of,
)

router = APIRouter(include_in_schema=False)
#: How many events the list shows (the JSON API pages through all of them).
LISTED = 100


def _events(request: Request) -> EventService:
    service: EventService = request.app.state.events
    return service


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/shop", status_code=307)


@router.get("/shop")
async def events_page(request: Request, account: SignedIn) -> Response:
    events = _events(request)
    shown = await shop_of(request).listings.page("listing", lambda: events.shop_page(LISTED))
    return render(request, "events.html", events=shown or [])


@router.get("/shop/events/{event_id}")
async def event_page(request: Request, event_id: str, account: SignedIn) -> Response:
    return await _event_form(request, event_id)


async def _event_form(
    request: Request,
    event_id: str,
    status_code: int = 200,
    error: str | None = None,
    form: FormData | None = None,
) -> Response:
    events = _events(request)
    try:
        wanted = uuid.UUID(event_id)
        found = await shop_of(request).events.page(wanted, lambda: events.shop_event(wanted))
    except (ValueError, DomainError):
        return not_found(request)
    assert found is not None
    event, seats = found
    settings = request.app.state.settings
    account = getattr(request.state, "account", None)
    # A fresh key per form shown (after a refusal too: that attempt is settled): a double
    # submit of one form finds the first order, never a second.
    fresh = {"csrf": csrf_token(request), "key": secrets.token_hex(16)}

    def html(values: Mapping[str, str]) -> str:
        return page(
            request,
            "event.html",
            values["csrf"],
            event=event,
            seats=seats,
            buyable=BUYABLE,
            max_per_order=settings.max_tickets_per_order,
            max_per_buyer=settings.max_tickets_per_buyer_per_event,
            error=error,
            form=form,
            key=values["key"],
            name=form_text(form, "name") or (account.name if account else "") or "",
            email=form_text(form, "email") or (account.email if account else "") or "",
        )

    if account is None and form is None and error is None:
        # The page everyone not signed in sees: rendered once per reading of the event.
        key = (request.url.path, request.method, locale_of(request))
        body = shop_of(request).pages.body(key, found, html, fresh)
        return answer(request, body, status_code)
    return answer(request, html(fresh), status_code)


def _quantities(form: FormData, prefix: str, field: str) -> list[dict[str, object]]:
    """`qty-<id>` fields with a number above zero, as order lines."""
    lines: list[dict[str, object]] = []
    for name, value in form.multi_items():
        if name.startswith(prefix) and isinstance(value, str) and value.strip() not in ("", "0"):
            quantity: object = int(value) if value.strip().isdigit() else value
            lines.append({field: name.removeprefix(prefix), "quantity": quantity})
    return lines


@router.post("/shop/events/{event_id}/reserve")
async def reserve(
    request: Request, event_id: str, form: CheckedForm, account: SignedIn
) -> Response:
    """Hold the chosen seats (and add-ons) for this buyer; then the checkout."""
    settings = request.app.state.settings
    raw = {
        "event_id": event_id,
        "items": _quantities(form, "qty-", "ticket_type_id"),
        "addons": _quantities(form, "addon-", "addon_id"),
        "buyer": {"name": form_text(form, "name"), "email": form_text(form, "email")},
    }
    if not raw["items"] and not raw["addons"]:
        message = gettext(request, "Choose at least one ticket.")
        return await _event_form(request, event_id, 422, message, form)
    try:
        body = OrderCreate.model_validate(raw)
    except ValidationError as invalid:
        return await _event_form(request, event_id, 422, _first_error(request, invalid), form)
    subject = account.subject if account is not None else None
    secret = request.app.state.order_token_secret
    client = client_address(request)
    orders: OrderService = request.app.state.orders
    key = form_text(form, "key")
    try:
        await enforce_rate_limit(
            request, f"orders:ip:{client}", settings.rate_limit_orders_per_client
        )
        await enforce_rate_limit(
            request,
            f"orders:{buyer_key(subject, str(body.buyer.email))}",
            settings.rate_limit_orders_per_buyer,
        )
        outcome = await orders.create(
            body, key or None, Requester(subject, client_key(secret, client))
        )
    except HTTPException as limited:
        return await _event_form(request, event_id, limited.status_code, str(limited.detail), form)
    except DomainError as refused:
        return await _event_form(request, event_id, 409, refused.message, form)
    target = (
        f"{order_path(outcome.order_id)}/checkout"
        if outcome.decided
        else order_path(outcome.order_id)
    )
    response = redirect(request, target)
    if subject is None:
        # The guest's proof that the order is theirs, sent only to this order's pages.
        set_cookie(
            response,
            request,
            ORDER_COOKIE,
            order_token(secret, outcome.order_id),
            path=order_path(outcome.order_id),
            max_age=90 * 86400,
        )
    return response


#: Form fields by where the order's schema found a mistake.
_FIELDS: dict[tuple[str, ...], str] = {("buyer", "name"): "Name", ("buyer", "email"): "Email"}


def _first_error(request: Request, invalid: ValidationError) -> str:
    """The first mistake, named by the field's label (the schema's words for the rest)."""
    first = invalid.errors()[0]
    loc = tuple(str(p) for p in first.get("loc", ()))
    label = _FIELDS.get(loc[:2])
    where = gettext(request, label) if label else ".".join(loc)
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
