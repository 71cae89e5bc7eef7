"""Search attributes operators use to find an order's run in the Temporal UI.

Registered on the dev server at start and by `boxoffice temporal setup` elsewhere, before any
code that sets them is deployed."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
EVENT_ID = SearchAttributeKey.for_keyword("EventId")
NEEDS_ATTENTION_SINCE = SearchAttributeKey.for_datetime("NeedsAttentionSince")
#: An event-wide run's progress: orders it has finished, and those it could not (support's).
EVENT_ORDERS_DONE = SearchAttributeKey.for_int("EventOrdersDone")
EVENT_ORDERS_FAILED = SearchAttributeKey.for_int("EventOrdersFailed")

#: Name and Temporal type of each, for registering them on a server.
REGISTRATION: dict[str, str] = {
    ORDER_STATUS.name: "Keyword",
    EVENT_ID.name: "Keyword",
    NEEDS_ATTENTION_SINCE.name: "Datetime",
    EVENT_ORDERS_DONE.name: "Int",
    EVENT_ORDERS_FAILED.name: "Int",
}
