"""The rules of the catalogue: what an event's status may be, and when a ticket type's sales
end. Pure code: the orders domain and its reservation ask these too."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from boxoffice.core.errors import DomainError, ErrorKind


class EventStatus(StrEnum):
    #: Being prepared: not listed, not on sale.
    DRAFT = "draft"
    ON_SALE = "on_sale"
    #: Listed, no longer sold.
    SALES_CLOSED = "sales_closed"
    #: Moved to a new date (its buyers were told); sales may reopen.
    POSTPONED = "postponed"
    #: Called off: every buyer refunded (`EventCancellationWorkflow`). Final.
    CANCELLED = "cancelled"
    #: It has taken place. Final.
    OVER = "over"


E = EventStatus
#: status -> the statuses `PATCH /events/{id}` may move it to. Cancelling goes through
#: `POST /events/{id}/cancel` (every buyer refunded) and postponing through `.../postpone`
#: (every buyer told): neither is a plain status change.
NEXT: dict[EventStatus, frozenset[EventStatus]] = {
    E.DRAFT: frozenset({E.ON_SALE}),
    E.ON_SALE: frozenset({E.SALES_CLOSED, E.OVER}),
    E.SALES_CLOSED: frozenset({E.ON_SALE, E.OVER}),
    E.POSTPONED: frozenset({E.ON_SALE, E.SALES_CLOSED, E.OVER}),
    E.CANCELLED: frozenset(),
    E.OVER: frozenset(),
}
#: What buyers see: listed (drafts are the organiser's alone).
LISTED: frozenset[EventStatus] = frozenset({E.ON_SALE, E.SALES_CLOSED, E.POSTPONED, E.CANCELLED})
#: Ended for good: nothing about it changes any more.
FINAL: frozenset[EventStatus] = frozenset({E.CANCELLED, E.OVER})


def move_refusal(current: str, target: str) -> str | None:
    """Why `PATCH {"status": target}` may not move an event from `current`, or None."""
    if target == current:
        return None
    if target == E.CANCELLED:
        return "Cancel an event with POST /events/{id}/cancel: every buyer is refunded."
    if target == E.POSTPONED:
        return "Postpone an event with POST /events/{id}/postpone: every buyer is told."
    allowed = NEXT[EventStatus(current)]
    if EventStatus(target) not in allowed:
        choices = ", ".join(sorted(allowed)) or "nothing: it is final"
        return f"An event that is {current} cannot become {target} (it may become {choices})."
    return None


class _Sold(Protocol):
    name: str
    on_sale_from: datetime | None
    on_sale_until: datetime | None
    hidden: bool


class _Dated(Protocol):
    status: str
    starts_at: datetime


def sales_end(ticket_type: _Sold, event: _Dated) -> datetime:
    """When sales of a type end: the organiser's time (later, to sell at the door, or
    earlier), else the event's start."""
    return ticket_type.on_sale_until or event.starts_at


def sales_ended(ticket_type: _Sold, event: _Dated) -> str:
    """Why an order for the type is refused once its sales are over."""
    ended = sales_end(ticket_type, event)
    when = " (when the event started)" if ended == event.starts_at else ""
    return f"Sales of {ticket_type.name} ended at {ended.isoformat()}{when}."


def sales_refusal(ticket_type: _Sold, event: _Dated, now: datetime) -> str | None:
    """Why the type cannot be ordered now, or None: the event must be on sale, the type
    listed, and now within its sales window. Asked before a workflow starts and again by the
    reservation."""
    if event.status != E.ON_SALE:
        return f"This event is not on sale ({event.status.replace('_', ' ')})."
    if ticket_type.hidden:
        return f"{ticket_type.name} is not on sale."
    opens = ticket_type.on_sale_from
    if opens is not None and now < opens:
        return f"Sales of {ticket_type.name} open at {opens.isoformat()}."
    if now >= sales_end(ticket_type, event):
        return sales_ended(ticket_type, event)
    return None


DUPLICATE_TYPE_NAMES = "Ticket type names must be unique within an event."
DUPLICATE_ADDON_NAMES = "Add-on names must be unique within an event."


class EventError(DomainError):
    """A catalogue use case that cannot be done (see `core/errors.py` for the kinds)."""


def no_such_event(event_id: object) -> EventError:
    return EventError(ErrorKind.NOT_FOUND, f"No event with id {event_id}.")
