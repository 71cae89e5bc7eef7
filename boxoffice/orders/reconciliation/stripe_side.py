"""Stripe's side of the books: listing a period's PaymentIntents and refunds, page by page, and
retrieving single ones by id.

Real Stripe filters lists by `created`; localstripe (the emulator) does not (PaymentIntents
answer 400 to the filter, refunds 500), so a refused filter is dropped and everything is listed.
Either way the period is applied here too, on each object's `created`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import stripe
from temporalio import activity

from boxoffice.orders.reconciliation.messages import Period, StripeIntent, StripeRefund

PAGE = 100
ListCall = Callable[..., Awaitable[Any]]


async def list_period(call: ListCall, period: Period) -> list[Any]:
    """Every object `call` lists that was created in the period, following `has_more`."""
    params: dict[str, Any] = {"limit": PAGE, "created": {"gte": period.since, "lt": period.until}}
    try:
        page = await call(params=params)
    except (stripe.InvalidRequestError, stripe.APIError):
        # The emulator lists no `created` filter; an outage fails the next call as well.
        params = {"limit": PAGE}
        page = await call(params=params)
    found: list[Any] = []
    while True:
        found.extend(o for o in page.data if period.since <= int(o.created) < period.until)
        if not page.has_more or not page.data:
            return found
        if activity.in_activity():
            activity.heartbeat(len(found))
        page = await call(params={**params, "starting_after": page.data[-1].id})


def intent_of(obj: Any) -> StripeIntent:
    metadata = obj.metadata.to_dict() if _field(obj, "metadata") else {}
    order_id = metadata.get("order_id")
    return StripeIntent(
        id=str(obj.id),
        status=str(obj.status),
        amount=int(obj.amount),
        currency=str(obj.currency).upper(),
        created=int(obj.created),
        order_id=order_id if isinstance(order_id, str) and order_id else None,
    )


def refund_of(obj: Any) -> StripeRefund:
    intent = _field(obj, "payment_intent")
    return StripeRefund(
        id=str(obj.id),
        payment_intent_id=intent if isinstance(intent, str) else getattr(intent, "id", None),
        amount=int(obj.amount),
        status=str(obj.status),
        created=int(obj.created),
    )


def _field(obj: Any, name: str) -> Any:
    """A field Stripe may leave out (a StripeObject is not a dict: no `.get`)."""
    return obj[name] if name in obj else None  # noqa: SIM401


async def retrieve(call: Callable[[str], Awaitable[Any]], object_id: str) -> Any | None:
    """The object, or None when Stripe has no such id."""
    try:
        return await call(object_id)
    except stripe.InvalidRequestError as missing:
        if missing.http_status == 404:
            return None
        raise
