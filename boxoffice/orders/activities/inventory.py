"""Seats and order rows in PostgreSQL: reserve, release, and status changes.

The SQL is the repository's (`orders/repository/seats.py` takes and gives back seats); here
each activity is one transaction. Idempotency: an order's row and holds are keyed by the order
id, so a retried reservation finds the row it wrote and answers from it; a release gives back
only the seats whose holds it marked, so it runs once however often it is retried."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import Addon, Event, Order, TicketType
from boxoffice.events.domain import sales_refusal
from boxoffice.orders.domain import (
    NOT_ENOUGH_SEATS,
    OrderStatus,
    addon_refusal,
    items_refusal,
    merged_quantities,
    refund_deadline,
)
from boxoffice.orders.messages import (
    AddonItem,
    Done,
    HoldExpiryChange,
    OrderItem,
    ReleaseInput,
    ReleaseResult,
    ReservedAddon,
    ReservedLine,
    ReserveInput,
    ReserveResult,
    StatusChange,
)
from boxoffice.orders.repository import addon_stock, admissions, limits, orders, seats


class _Refused(Exception):
    """Raised inside the reservation's transaction to roll back seats already taken."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        """Take the seats and write the order and its holds in one transaction. A refused
        order is recorded too (without holds), so a retried request gets the same answer."""
        items = [
            OrderItem(type_id, quantity)
            for type_id, quantity in merged_quantities(
                (i.ticket_type_id, i.quantity) for i in request.items
            )
        ]
        try:
            async with self._sessions() as session, session.begin():
                # The API and the order's run may reserve one order at once (orders/creation.py):
                # they take turns on the order, so the second finds the first's row instead of
                # queueing for the type's row lock only to be rolled back.
                await orders.lock(session, request.order_id)
                existing = await session.get(Order, request.order_id)
                if existing is not None:
                    return await _answer_from_row(session, existing)
                return await self._take_seats(session, request, items)
        except IntegrityError:
            # The API and the order's run may both reserve one order (`orders/creation.py`):
            # the other one wrote the order first, and this attempt's seats were rolled back.
            async with self._sessions() as session, session.begin():
                existing = await session.get(Order, request.order_id)
                if existing is None:
                    raise
                return await _answer_from_row(session, existing)
        except _Refused as refused:
            async with self._sessions() as session, session.begin():
                # Decided: its admission stops counting (see orders/admission/control.py).
                await admissions.end(session, request.order_id)
                if await session.get(Event, uuid.UUID(request.event_id)) is not None:
                    await orders.record_sold_out(
                        session,
                        request.order_id,
                        uuid.UUID(request.event_id),
                        request.buyer,
                        items,
                        refused.reason,
                        request.request_fingerprint,
                    )
                # The other party reserving this order may have taken the seats this attempt
                # found gone: then its row, not this refusal, is the answer.
                existing = await session.get(Order, request.order_id)
                if existing is not None and existing.status != OrderStatus.SOLD_OUT:
                    return await _answer_from_row(session, existing)
            return ReserveResult(reserved=False, reason=refused.reason)

    async def _take_seats(
        self, session: AsyncSession, request: ReserveInput, items: list[OrderItem]
    ) -> ReserveResult:
        # FOR SHARE: an organiser closing sales or cancelling (FOR UPDATE) waits for the
        # reservations under way, and every later one sees the event's new status.
        event = await session.get(
            Event, uuid.UUID(request.event_id), with_for_update={"read": True}
        )
        if event is None:
            raise _Refused("This event is not on sale.")
        types = {
            item.ticket_type_id: await session.get(TicketType, uuid.UUID(item.ticket_type_id))
            for item in items
        }
        refusal = items_refusal(event.id, types)
        if refusal is not None:
            raise ApplicationError(refusal, type="InvalidOrder", non_retryable=True)
        lines: list[ReservedLine] = []
        for item in items:
            ticket_type = types[item.ticket_type_id]
            assert ticket_type is not None
            refused = sales_refusal(ticket_type, event, datetime.now(UTC))
            if refused is not None:
                raise _Refused(refused)
            lines.append(
                ReservedLine(
                    str(ticket_type.id), ticket_type.name, item.quantity, ticket_type.price
                )
            )
        currency = {t.currency for t in types.values() if t is not None}.pop()
        extras = await _take_addons(session, event.id, request.addons, currency)
        # Decided: the seats admission control let it ask for stop counting against other
        # buyers in the transaction that took them, so no moment counts them twice or not at all.
        await admissions.end(session, request.order_id)
        order = orders.add_reserved(
            session,
            request.order_id,
            event.id,
            request.buyer,
            orders.Lines(lines, extras),
            currency,
            request.hold_expires_at,
            request.request_fingerprint,
        )
        await session.flush()
        seats.hold(session, request.order_id, lines)
        addon_stock.hold(session, request.order_id, extras)
        await self._check_limits(session, request, event.id, sum(line.quantity for line in lines))
        # The seats last: a flash sale's buyers queue for the type's row lock, which the UPDATE
        # holds until the commit, so nothing but the commit may follow it (the rows written
        # above are this transaction's own until then; a refusal rolls them back).
        for line in lines:
            if not await seats.take(session, uuid.UUID(line.ticket_type_id), line.quantity):
                raise _Refused(f"Not enough seats left for {line.name}.")
        return ReserveResult(
            reserved=True,
            total_amount=order.total_amount,
            currency=currency,
            lines=lines,
            hold_expires_at=request.hold_expires_at,
            refund_deadline=refund_deadline(event.starts_at, event.refund_cutoff_hours),
            event_starts_at=event.starts_at,
            addons=extras,
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
            raise _Refused(f"At most {cap} tickets per buyer for this event.")
        account = request.buyer.account
        if cap and account is not None:
            # The account's own count only: what it says is the caller's own business.
            (key,) = limits.paid_keys(event_id, account=account, email=None)
            bought = await limits.used(session, key)
            if bought + quantity > cap:
                raise _Refused(
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
                raise _Refused(
                    f"At most {self._unpaid_cap} unpaid tickets may be held from one network "
                    "at a time: pay for or cancel a held order first, or wait for its hold to "
                    "end."
                )

    @activity.defn(name="release_seats")
    async def release_seats(self, request: ReleaseInput) -> ReleaseResult:
        """Give the order's seats back and set its final status, in one transaction."""
        async with self._sessions() as session, session.begin():
            # In the order a reservation locks them (add-ons, limits, then seats), so the two
            # never wait on each other in a deadlock.
            # An order rejected before its reservation (RESERVE_IN_API=false) still had its
            # admission counting against other buyers until the lease ran out: end it here.
            await admissions.end(session, request.order_id)
            await addon_stock.give_back(session, request.order_id)
            # The buyer may buy these again: give them back to the limits too.
            await limits.let_go(session, request.order_id, paid=True, unpaid=True)
            released = await seats.give_back(session, request.order_id)
            await orders.move_status(
                session, request.order_id, request.final_status, request.reason, keep_error=True
            )
        return ReleaseResult(seats_released=released)

    @activity.defn(name="record_hold_expiry")
    async def record_hold_expiry(self, change: HoldExpiryChange) -> Done:
        """Show a hold's new end (support's extension, or the whole hold once a card was
        tried); the workflow's timer is what enforces it."""
        async with self._sessions() as session, session.begin():
            changed = await orders.set_hold_expiry(session, change.order_id, change.hold_expires_at)
        return Done(changed=changed)

    @activity.defn(name="record_status")
    async def record_status(self, change: StatusChange) -> Done:
        """Move the order row forward (e.g. to needs_attention with the error)."""
        async with self._sessions() as session, session.begin():
            changed = await orders.move_status(
                session, change.order_id, change.status, change.error, keep_error=True
            )
        return Done(changed=changed)


async def _answer_from_row(session: AsyncSession, order: Order) -> ReserveResult:
    if order.status == OrderStatus.SOLD_OUT:
        return ReserveResult(reserved=False, reason=order.last_error or NOT_ENOUGH_SEATS)
    event = await session.get(Event, order.event_id)
    assert event is not None
    return ReserveResult(
        reserved=True,
        total_amount=order.total_amount,
        currency=order.currency,
        lines=orders.reserved_lines(order),
        hold_expires_at=order.hold_expires_at,
        refund_deadline=refund_deadline(event.starts_at, event.refund_cutoff_hours),
        event_starts_at=event.starts_at,
        addons=orders.reserved_addons(order),
    )


async def _take_addons(
    session: AsyncSession, event_id: uuid.UUID, wanted: list[AddonItem], currency: str
) -> list[ReservedAddon]:
    """Take the add-ons (in id order, after the seats) in the reservation's transaction; a
    refusal rolls the seats back too."""
    taken: list[ReservedAddon] = []
    for addon_id, quantity in merged_quantities((a.addon_id, a.quantity) for a in wanted):
        try:
            key = uuid.UUID(addon_id)
        except ValueError:
            raise _invalid(f"Add-on {addon_id} is not sold for this event.") from None
        got = await addon_stock.take(session, event_id, key, quantity)
        if got is None:
            addon = await session.get(Addon, key)
            if addon is None or addon.event_id != event_id or addon.hidden:
                raise _invalid(f"Add-on {addon_id} is not sold for this event.")
            raise _Refused(f"Not enough {addon.name} left.")
        refusal = addon_refusal(got.name, quantity, got.max_per_order, got.currency, currency)
        if refusal is not None:
            raise _invalid(refusal)
        taken.append(ReservedAddon(addon_id, got.name, quantity, got.price))
    return taken


def _invalid(reason: str) -> ApplicationError:
    return ApplicationError(reason, type="InvalidOrder", non_retryable=True)
