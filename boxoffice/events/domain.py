"""The rules of the catalogue: what an event's status may be, and when a ticket type's sales
end. Pure code: the orders domain and its reservation ask these too."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from boxoffice.core.errors import DomainError, ErrorKind


class EventStatus(StrEnum):
    ON_SALE = "on_sale"
    CANCELLED = "cancelled"


class _Sold(Protocol):
    name: str
    on_sale_until: datetime | None


class _Dated(Protocol):
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


DUPLICATE_TYPE_NAMES = "Ticket type names must be unique within an event."


class EventError(DomainError):
    """A catalogue use case that cannot be done (see `core/errors.py` for the kinds)."""


def no_such_event(event_id: object) -> EventError:
    return EventError(ErrorKind.NOT_FOUND, f"No event with id {event_id}.")
