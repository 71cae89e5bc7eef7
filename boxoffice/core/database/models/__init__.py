"""The tables, one module per part of the schema; everything is importable from here, and
Alembic compares `Base.metadata` with the migrations."""

from boxoffice.core.database.models.accounts import Account, AccountLink, AccountSession
from boxoffice.core.database.models.audit import AuditEntry
from boxoffice.core.database.models.base import READABLE_FROM, READABLE_UNTIL, Base
from boxoffice.core.database.models.catalogue import Addon, Event, TicketType
from boxoffice.core.database.models.event_runs import EventCancellation, EventRunOrder
from boxoffice.core.database.models.orders import (
    AddonHold,
    Admission,
    Email,
    Hold,
    LimitCounter,
    Order,
    OrderLimitCount,
    PaymentAttempt,
    Refund,
    StrayRefund,
    StripeEvent,
)
from boxoffice.core.database.models.rate_limits import RateLimitCounter
from boxoffice.core.database.models.tickets import Scan, Ticket

__all__ = [
    "READABLE_FROM",
    "READABLE_UNTIL",
    "Account",
    "AccountLink",
    "AccountSession",
    "Addon",
    "AddonHold",
    "Admission",
    "AuditEntry",
    "Base",
    "Email",
    "Event",
    "EventCancellation",
    "EventRunOrder",
    "Hold",
    "LimitCounter",
    "Order",
    "OrderLimitCount",
    "PaymentAttempt",
    "RateLimitCounter",
    "Refund",
    "Scan",
    "StrayRefund",
    "StripeEvent",
    "Ticket",
    "TicketType",
]
