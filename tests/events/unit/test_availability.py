"""What buyers are told about seats: one rule for the storefront's list and event page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from boxoffice.core.http.fields import Money
from boxoffice.events.availability import (
    Seats,
    SeatState,
    event_state,
    few_left,
    of_interest,
    seat_state,
)
from boxoffice.events.schemas import EventPublic, TicketTypePublic

NOW = datetime(2027, 5, 1, 12, tzinfo=UTC)
START = NOW + timedelta(days=10)


def ticket_type(available: int, **window: datetime) -> TicketTypePublic:
    return TicketTypePublic(
        id=uuid.uuid4(),
        name="General",
        price=Money(amount=4500, currency="EUR"),
        capacity=100,
        available=available,
        on_sale_from=window.get("opens"),
        on_sale_until=window.get("until", START),
    )


@pytest.mark.parametrize(
    ("available", "held", "status", "window", "expected"),
    [
        (50, 0, "on_sale", {}, SeatState.ON_SALE),
        (10, 0, "on_sale", {}, SeatState.FEW_LEFT),
        (0, 3, "on_sale", {}, SeatState.IN_CARTS),
        (0, 0, "on_sale", {}, SeatState.SOLD_OUT),
        (50, 0, "on_sale", {"opens": NOW + timedelta(hours=1)}, SeatState.NOT_YET),
        (50, 0, "on_sale", {"until": NOW}, SeatState.ENDED),
        (50, 0, "postponed", {}, SeatState.NOT_ON_SALE),
        (0, 0, "sales_closed", {}, SeatState.NOT_ON_SALE),
    ],
)
def test_a_types_seats(
    available: int, held: int, status: str, window: dict[str, datetime], expected: SeatState
) -> None:
    assert seat_state(ticket_type(available, **window), status, held, NOW).state == expected


def test_few_left_is_a_tenth_or_five_seats() -> None:
    assert few_left(5, 20) and not few_left(6, 20)
    assert few_left(100, 1000) and not few_left(101, 1000)
    assert not few_left(0, 100)


def test_the_list_tells_the_best_news_of_an_event() -> None:
    opens_soon = Seats(SeatState.NOT_YET, 10, 0, NOW + timedelta(hours=1))
    opens_later = Seats(SeatState.NOT_YET, 10, 0, NOW + timedelta(hours=5))
    sold_out = Seats(SeatState.SOLD_OUT, 0, 0)
    assert event_state([sold_out, opens_later, opens_soon]) == opens_soon
    assert event_state([sold_out, Seats(SeatState.FEW_LEFT, 2, 0)]).state == SeatState.FEW_LEFT  # type: ignore[union-attr]
    assert event_state([]) is None


def test_a_started_event_leaves_the_list_unless_it_sells_at_the_door() -> None:
    event = EventPublic(
        id=uuid.uuid4(),
        name="Night",
        venue="Hall",
        starts_at=NOW - timedelta(hours=1),
        status="on_sale",
        refund_cutoff_hours=48,
        ticket_types=[],
    )
    assert not of_interest(event, [Seats(SeatState.ENDED, 10, 0)], NOW)
    assert of_interest(event, [Seats(SeatState.ON_SALE, 10, 0)], NOW)
    upcoming = event.model_copy(update={"starts_at": START})
    assert of_interest(upcoming, [Seats(SeatState.SOLD_OUT, 0, 0)], NOW)
