"""What a buyer is told about a ticket type's seats: on sale, few left, all in other buyers'
carts (they may come back when holds lapse), sold out, not on sale yet, or no longer. One
rule, so the storefront's event list and event page (and any client) say the same."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.events.domain import EventStatus
from boxoffice.events.schemas import EventPublic, TicketTypePublic
from boxoffice.orders.domain import HELD


class SeatState(StrEnum):
    ON_SALE = "on_sale"
    FEW_LEFT = "few_left"
    #: None free, but some are held by unpaid orders: try again when their holds lapse.
    IN_CARTS = "in_carts"
    SOLD_OUT = "sold_out"
    NOT_YET = "not_yet"
    ENDED = "ended"
    #: The event itself is not on sale (closed, postponed, cancelled).
    NOT_ON_SALE = "not_on_sale"


#: States in which a buyer may pick tickets of the type now.
BUYABLE = frozenset({SeatState.ON_SALE, SeatState.FEW_LEFT})


@dataclass(frozen=True)
class Seats:
    state: SeatState
    available: int
    held: int
    opens_at: datetime | None = None


def few_left(available: int, capacity: int) -> bool:
    """A tenth of the capacity or five seats, whichever is more."""
    return 0 < available <= max(5, capacity // 10)


def seat_state(ticket_type: TicketTypePublic, event_status: str, held: int, now: datetime) -> Seats:
    """The state of one type of a listed event, `held` being its seats in unpaid holds."""
    opens = ticket_type.on_sale_from
    available = ticket_type.available
    if event_status != EventStatus.ON_SALE:
        state = SeatState.NOT_ON_SALE
    elif opens is not None and now < opens:
        state = SeatState.NOT_YET
    elif now >= ticket_type.on_sale_until:
        state = SeatState.ENDED
    elif available <= 0:
        state = SeatState.IN_CARTS if held > 0 else SeatState.SOLD_OUT
    elif few_left(available, ticket_type.capacity):
        state = SeatState.FEW_LEFT
    else:
        state = SeatState.ON_SALE
    return Seats(state, available, held, opens)


#: Which type's state the event list shows for a whole event: the best news first.
_RANK = (
    SeatState.ON_SALE,
    SeatState.FEW_LEFT,
    SeatState.NOT_YET,
    SeatState.IN_CARTS,
    SeatState.SOLD_OUT,
    SeatState.ENDED,
    SeatState.NOT_ON_SALE,
)


def event_state(seats: Iterable[Seats]) -> Seats | None:
    """What the event list says of a whole event: its best state (the soonest opening among
    those not on sale yet), or None for an event without a listed type."""
    ranked = sorted(
        seats,
        key=lambda s: (_RANK.index(s.state), s.opens_at.timestamp() if s.opens_at else 0.0),
    )
    return ranked[0] if ranked else None


def of_interest(event: EventPublic, seats: Iterable[Seats], now: datetime) -> bool:
    """Whether buyers' list shows the event: not once it has started, unless a type still
    sells (at the door); an organiser may not have marked it over yet."""
    return event.starts_at > now or any(s.state in BUYABLE for s in seats)


_HELD_UNPAID = text(
    """
    SELECT h.ticket_type_id, SUM(h.quantity)::int
    FROM holds h JOIN orders o ON o.id = h.order_id
    WHERE o.event_id = ANY(:events) AND h.released_at IS NULL AND o.status = ANY(:held)
    GROUP BY h.ticket_type_id
    """
)


async def held_unpaid(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Seats per ticket type of these events in holds not yet paid for."""
    if not event_ids:
        return {}
    rows = await session.execute(_HELD_UNPAID, {"events": list(event_ids), "held": list(HELD)})
    return {type_id: held for type_id, held in rows.all()}


def seats_of(
    event: EventPublic, held: dict[uuid.UUID, int], now: datetime
) -> dict[uuid.UUID, Seats]:
    return {
        tt.id: seat_state(tt, event.status, held.get(tt.id, 0), now) for tt in event.ticket_types
    }
