"""Seats and order rows in PostgreSQL: reserve, release, and status changes.

Idempotency: an order's row and holds are keyed by the order id, so a retried reservation finds
the row it wrote and answers from it; a release marks each hold released with a conditional
UPDATE and gives back only the seats it marked, so it runs once however often it is retried.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import Event, Hold, Order, TicketType
from boxoffice.orders.messages import (
    Done,
    HoldExpiryChange,
    OrderItem,
    ReleaseInput,
    ReleaseResult,
    ReservedLine,
    ReserveInput,
    ReserveResult,
    StatusChange,
)
from boxoffice.orders.repository import limits
from boxoffice.orders.repository.admissions import end_admission
from boxoffice.orders.repository.status import move_order_status


class _SoldOut(Exception):
    """Raised inside the reservation transaction to roll back seats already taken."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def merge_items(items: Sequence[OrderItem]) -> list[OrderItem]:
    """One line per ticket type, in id order: the order in which rows are locked, so two orders
    for the same types never deadlock."""
    totals: dict[str, int] = {}
    for item in items:
        totals[item.ticket_type_id] = totals.get(item.ticket_type_id, 0) + item.quantity
    return [OrderItem(tid, qty) for tid, qty in sorted(totals.items())]


class InventoryActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        max_tickets_per_buyer: int = 0,
        max_unpaid_tickets_per_client: int = 0,
    ) -> None:
        self._sessions = sessions
        # Per buyer and event, counted at payment (payments.py); 0: no cap, nothing counted.
        self._buyer_cap = max_tickets_per_buyer
        # Held and unpaid, per client network; 0: no limit, nothing counted.
        self._unpaid_cap = max_unpaid_tickets_per_client

    @activity.defn(name="reserve_seats")
    async def reserve_seats(self, request: ReserveInput) -> ReserveResult:
        """Take the seats and write the order and its holds in one transaction.

        Seats move only by `UPDATE ... WHERE available >= :n`, never read-then-write. A sold-out
        order is recorded too (without holds), so a retried request gets the same answer."""
        async with self._sessions() as session, session.begin():
            existing = await session.get(Order, request.order_id)
            if existing is not None:
                return await self._answer_from_row(session, existing)
        items = merge_items(request.items)
        try:
            async with self._sessions() as session, session.begin():
                return await self._take_seats(session, request, items)
        except _SoldOut as sold_out:
            async with self._sessions() as session, session.begin():
                await self._record_sold_out(session, request, items, sold_out.reason)
            return ReserveResult(reserved=False, reason=sold_out.reason)

    async def _take_seats(
        self, session: AsyncSession, request: ReserveInput, items: list[OrderItem]
    ) -> ReserveResult:
        event = await session.get(Event, uuid.UUID(request.event_id))
        if event is None or event.status != "on_sale":
            raise _SoldOut("This event is not on sale.")
        lines: list[ReservedLine] = []
        currency = ""
        for item in items:
            ticket_type = await session.get(TicketType, uuid.UUID(item.ticket_type_id))
            if ticket_type is None or ticket_type.event_id != event.id:
                raise ApplicationError(
                    f"Ticket type {item.ticket_type_id} does not belong to this event.",
                    type="InvalidOrder",
                    non_retryable=True,
                )
            if currency and ticket_type.currency != currency:
                raise ApplicationError(
                    "All tickets of one order must share a currency.",
                    type="InvalidOrder",
                    non_retryable=True,
                )
            currency = ticket_type.currency
            if datetime.now(UTC) >= ticket_type.sales_end(event):
                raise _SoldOut(ticket_type.sales_ended(event))
            taken = await session.execute(
                text(
                    "UPDATE ticket_types SET available = available - :n "
                    "WHERE id = :id AND available >= :n RETURNING available"
                ),
                {"n": item.quantity, "id": ticket_type.id},
            )
            if taken.first() is None:
                raise _SoldOut(f"Not enough seats left for {ticket_type.name}.")
            lines.append(
                ReservedLine(
                    str(ticket_type.id), ticket_type.name, item.quantity, ticket_type.price
                )
            )
        # Decided: the seats admission control let it ask for stop counting against other
        # buyers in the transaction that took them, so no moment counts them twice or not at all.
        await end_admission(session, request.order_id)
        total = sum(line.quantity * line.unit_price for line in lines)
        session.add(
            Order(
                id=request.order_id,
                event_id=event.id,
                buyer_email=request.buyer.email,
                buyer_name=request.buyer.name,
                owner_sub=request.buyer.account,
                buyer_key=request.buyer.cap_key,
                items=[_line_json(line) for line in lines],
                total_amount=total,
                currency=currency,
                status="reserved",
                hold_expires_at=request.hold_expires_at,
                request_fingerprint=request.request_fingerprint,
            )
        )
        await session.flush()
        for line in lines:
            session.add(
                Hold(
                    order_id=request.order_id,
                    ticket_type_id=uuid.UUID(line.ticket_type_id),
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
            )
        await self._check_limits(session, request, event.id, sum(line.quantity for line in lines))
        return ReserveResult(
            reserved=True,
            total_amount=total,
            currency=currency,
            lines=lines,
            hold_expires_at=request.hold_expires_at,
            refund_deadline=_refund_deadline(event),
            event_starts_at=event.starts_at,
        )

    async def _check_limits(
        self, session: AsyncSession, request: ReserveInput, event_id: uuid.UUID, quantity: int
    ) -> None:
        """Refuse what no payment could complete, and count the hold against its client
        network's unpaid tickets (conditional, like seats). The per-buyer cap itself is
        counted when the payment starts: unpaid holds made under a victim's address must not
        use up the victim's cap."""
        cap = self._buyer_cap
        if cap and quantity > cap:
            raise _SoldOut(f"At most {cap} tickets per buyer for this event.")
        account = request.buyer.account
        if cap and account is not None:
            # The account's own count only: what it says is the caller's own business.
            (key,) = limits.paid_keys(event_id, account=account, email=None)
            bought = await limits.used(session, key)
            if bought + quantity > cap:
                raise _SoldOut(
                    f"At most {cap} tickets per buyer for this event; this account has "
                    f"{bought} already."
                )
        if self._unpaid_cap and request.buyer.client is not None:
            refused = await limits.count(
                session,
                request.order_id,
                [limits.unpaid_key(request.buyer.client)],
                quantity,
                self._unpaid_cap,
                until_paid=True,
            )
            if refused is not None:
                raise _SoldOut(
                    f"At most {self._unpaid_cap} unpaid tickets may be held from one network "
                    "at a time: pay for or cancel a held order first, or wait for its hold to "
                    "end."
                )

    async def _record_sold_out(
        self,
        session: AsyncSession,
        request: ReserveInput,
        items: list[OrderItem],
        reason: str,
    ) -> None:
        await end_admission(session, request.order_id)
        event = await session.get(Event, uuid.UUID(request.event_id))
        if event is None:
            return
        await session.execute(
            text(
                "INSERT INTO orders (id, event_id, buyer_email, buyer_name, items, total_amount,"
                " currency, status, request_fingerprint, last_error, owner_sub, buyer_key)"
                " VALUES (:id, :event, :email, :name, CAST(:items AS jsonb), 0, '', 'sold_out',"
                " :fp, :reason, :owner, :buyer) ON CONFLICT (id) DO NOTHING"
            ),
            {
                "id": request.order_id,
                "event": event.id,
                "email": request.buyer.email,
                "name": request.buyer.name,
                "items": _items_json(items),
                "fp": request.request_fingerprint,
                "reason": reason,
                "owner": request.buyer.account,
                "buyer": request.buyer.cap_key,
            },
        )

    async def _answer_from_row(self, session: AsyncSession, order: Order) -> ReserveResult:
        if order.status == "sold_out":
            return ReserveResult(
                reserved=False, reason=order.last_error or "Not enough seats left."
            )
        event = await session.get(Event, order.event_id)
        assert event is not None
        lines = [
            ReservedLine(line["ticket_type_id"], line["name"], line["quantity"], line["unit_price"])
            for line in order.items
        ]
        return ReserveResult(
            reserved=True,
            total_amount=order.total_amount,
            currency=order.currency,
            lines=lines,
            hold_expires_at=order.hold_expires_at,
            refund_deadline=_refund_deadline(event),
            event_starts_at=event.starts_at,
        )

    @activity.defn(name="release_seats")
    async def release_seats(self, request: ReleaseInput) -> ReleaseResult:
        """Give the order's seats back and set its final status, in one transaction."""
        async with self._sessions() as session, session.begin():
            released = await session.execute(
                text(
                    "UPDATE holds SET released_at = now() "
                    "WHERE order_id = :order AND released_at IS NULL "
                    "RETURNING ticket_type_id, quantity"
                ),
                {"order": request.order_id},
            )
            rows = sorted(released.all())
            for ticket_type_id, quantity in rows:
                await session.execute(
                    text("UPDATE ticket_types SET available = available + :n WHERE id = :id"),
                    {"n": quantity, "id": ticket_type_id},
                )
            # The buyer may buy these again: give them back to the limits too.
            await limits.let_go(session, request.order_id, paid=True, unpaid=True)
            await move_order_status(
                session, request.order_id, request.final_status, request.reason, keep_error=True
            )
        return ReleaseResult(seats_released=sum(quantity for _, quantity in rows))

    @activity.defn(name="record_hold_expiry")
    async def record_hold_expiry(self, change: HoldExpiryChange) -> Done:
        """Show a support-extended hold's new end (the workflow's timer is what enforces it)."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                text(
                    "UPDATE orders SET hold_expires_at = :at, updated_at = now()"
                    " WHERE id = :id AND status IN ('reserved', 'paying') RETURNING id"
                ),
                {"at": change.hold_expires_at, "id": change.order_id},
            )
            return Done(changed=result.first() is not None)

    @activity.defn(name="record_status")
    async def record_status(self, change: StatusChange) -> Done:
        """Move the order row forward (e.g. to needs_attention with the error)."""
        async with self._sessions() as session, session.begin():
            changed = await move_order_status(
                session, change.order_id, change.status, change.error, keep_error=True
            )
        return Done(changed=changed)


def _refund_deadline(event: Event) -> datetime:
    return event.starts_at - timedelta(hours=event.refund_cutoff_hours)


def _line_json(line: ReservedLine) -> dict[str, object]:
    return {
        "ticket_type_id": line.ticket_type_id,
        "name": line.name,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
    }


def _items_json(items: Sequence[OrderItem]) -> str:
    return json.dumps(
        [{"ticket_type_id": item.ticket_type_id, "quantity": item.quantity} for item in items]
    )
