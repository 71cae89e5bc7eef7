"""The rules of an order, in one place: its statuses and the arrows between them, who may refund
until when, what an order may hold, and the kinds of refusal every adapter maps (HTTP status,
exit code) in one table of its own.

Pure code: the workflow imports it too (no I/O, no clock: callers pass `now`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from boxoffice.core.errors import DomainError


class OrderStatus(StrEnum):
    #: Workflow only: the reservation is not decided yet.
    PENDING = "pending"
    RESERVED = "reserved"
    PAYING = "paying"
    PAID = "paid"
    COMPLETED = "completed"
    SOLD_OUT = "sold_out"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    NEEDS_ATTENTION = "needs_attention"
    #: Workflow only: the reservation itself failed for good (a bad order, the database gone).
    REJECTED = "rejected"


S = OrderStatus
#: The order has ended: nothing more can happen to it.
FINAL: frozenset[OrderStatus] = frozenset(
    {S.SOLD_OUT, S.EXPIRED, S.CANCELLED, S.REFUNDED, S.REJECTED}
)
#: Statuses only the workflow has; an order row never holds them (the row's CHECK leaves them out).
WORKFLOW_ONLY: frozenset[OrderStatus] = frozenset({S.PENDING, S.REJECTED})
#: The statuses an order row may hold, in the order of the lifecycle.
ROW_STATUSES: tuple[OrderStatus, ...] = tuple(s for s in S if s not in WORKFLOW_ONLY)
#: Seats held, not paid for.
HELD: frozenset[OrderStatus] = frozenset({S.RESERVED, S.PAYING})
#: Paid for: its tickets may exist.
PAID: frozenset[OrderStatus] = frozenset({S.PAID, S.COMPLETED, S.NEEDS_ATTENTION})

#: target status -> the statuses it may be reached from. A row moves only along these arrows
#: (a conditional UPDATE), so a retried or late activity never moves an order backwards.
ALLOWED_FROM: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    S.PAYING: (S.RESERVED, S.PAYING),
    # A declined attempt leaves the order reserved so the buyer can try another card.
    S.RESERVED: (S.PAYING,),
    # needs_attention -> paid: support retried a failed step of a paid order.
    S.PAID: (S.RESERVED, S.PAYING, S.NEEDS_ATTENTION),
    S.COMPLETED: (S.PAID, S.NEEDS_ATTENTION),
    # completed -> needs_attention: Stripe refused to refund it.
    S.NEEDS_ATTENTION: (S.RESERVED, S.PAYING, S.PAID, S.COMPLETED),
    S.EXPIRED: (S.RESERVED, S.PAYING, S.NEEDS_ATTENTION),
    S.CANCELLED: (S.RESERVED, S.PAYING, S.NEEDS_ATTENTION),
    S.REFUNDED: (S.PAID, S.COMPLETED, S.NEEDS_ATTENTION),
}


def allowed_from(target: OrderStatus | str) -> tuple[OrderStatus, ...]:
    try:
        return ALLOWED_FROM[OrderStatus(target)]
    except (KeyError, ValueError):
        raise ValueError(f"no order may move to status {target!r}") from None


def is_open(status: str) -> bool:
    """Something may still happen to it: decided (not pending) and not ended."""
    return status not in FINAL and status != S.PENDING


# --- refunds: who may, until when ------------------------------------------------------


def refund_deadline(starts_at: datetime, cutoff_hours: int) -> datetime:
    """Buyers may cancel a paid order until this long before the event starts."""
    return starts_at - timedelta(hours=cutoff_hours)


def buyer_refund_refusal(now: datetime, deadline: datetime | None) -> str | None:
    """Why the buyer may not cancel a paid order now, or None when they may. Support may at any
    time before the start (`support_refund_refusal`); nobody may once a ticket was used
    (`checked_in_refusal`)."""
    if deadline is not None and now >= deadline:
        return f"The refund period for this event ended at {deadline.isoformat()}."
    return None


def support_refund_refusal(status: str, now: datetime, starts_at: datetime | None) -> str | None:
    """Why support may not refund a completed order now, or None when it may."""
    if status != S.COMPLETED:
        return f"Only a completed order can be refunded; this one is {status}."
    if starts_at is not None and now >= starts_at:
        return "The event has already started."
    return None


def checked_in_refusal(order_id: str, checked_in: int) -> str:
    """A ticket that got someone in cannot be given back."""
    return f"order {order_id} has {checked_in} checked-in ticket(s)"


# --- what an order may hold -------------------------------------------------------------

NOT_ENOUGH_SEATS = "Not enough seats left."
MIXED_CURRENCIES = "Ticket types of one order must share a currency."


def not_sold_here(ticket_type_id: object) -> str:
    return f"Ticket type {ticket_type_id} is not sold for this event."


def too_many_tickets(limit: int, asked: int) -> str:
    return f"At most {limit} tickets per order ({asked} asked)."


class _TicketTypeLike(Protocol):
    event_id: Any
    currency: str


def items_refusal(event_id: object, types: Mapping[Any, _TicketTypeLike | None]) -> str | None:
    """Why these ticket types (id -> the type, None when unknown) cannot make one order of
    this event, or None: the API asks before a workflow starts, the reservation again."""
    currencies = set()
    for type_id, ticket_type in types.items():
        if ticket_type is None or ticket_type.event_id != event_id:
            return not_sold_here(type_id)
        currencies.add(ticket_type.currency)
    return MIXED_CURRENCIES if len(currencies) > 1 else None


def merged_quantities(items: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """One line per ticket type, in id order: the order in which rows are locked, so two orders
    for the same types never deadlock."""
    totals: dict[str, int] = {}
    for ticket_type_id, quantity in items:
        totals[ticket_type_id] = totals.get(ticket_type_id, 0) + quantity
    return sorted(totals.items())


ADDONS_NEED_TICKETS = "items: add-ons are sold with tickets: order at least one ticket."


def addon_refusal(
    name: str, quantity: int, max_per_order: int, currency: str, order_currency: str
) -> str | None:
    """Why an order may not have `quantity` of an add-on, or None."""
    if quantity > max_per_order:
        return f"At most {max_per_order} of {name} per order ({quantity} asked)."
    if currency != order_currency:
        return f"{name} is sold in {currency}; this order's tickets are in {order_currency}."
    return None


# --- support ----------------------------------------------------------------------------

REASON_REQUIRED = "A reason is required."


def missing_reason(reason: str | None) -> bool:
    """Every support action says why (the audit log and the run's history show it)."""
    return not reason or not reason.strip()


# --- refusals ---------------------------------------------------------------------------


class OrderError(DomainError):
    """An order use case that cannot be done (see `core/errors.py` for the kinds)."""
