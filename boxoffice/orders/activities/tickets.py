"""Ticket rows: issued once per order and position, voided all together."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.core.database.models import Hold, Order, Ticket
from boxoffice.orders.domain import PAID, checked_in_refusal
from boxoffice.orders.messages import Done, IssuedTicket, IssuedTickets, OrderRef
from boxoffice.orders.tickets.codes import TicketSigner

#: Namespace of ticket ids: uuid5(namespace, "<order id>:<position>").
TICKET_ID_NAMESPACE = uuid.UUID("6f0b5c3e-8a51-4f8e-9d5e-2b1c7a4e9f10")


def ticket_id_for(order_id: str, position: int) -> uuid.UUID:
    return uuid.uuid5(TICKET_ID_NAMESPACE, f"{order_id}:{position}")


class TicketActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], signer: TicketSigner) -> None:
        self._sessions = sessions
        self._signer = signer

    @activity.defn(name="issue_tickets")
    async def issue_tickets(self, ref: OrderRef) -> IssuedTickets:
        """Create the order's tickets: one per held seat, positions 0..n-1 in ticket type order.

        Idempotent: a ticket's id is derived from (order, position) and rows are inserted with
        ON CONFLICT (order_id, position) DO NOTHING, so a retry inserts nothing new and returns
        the rows the first run wrote (with their codes, even if the signing key rotated since).
        """
        async with self._sessions() as s, s.begin():
            # Locked, so a void of the order runs wholly before or wholly after this.
            order = await s.get(Order, ref.order_id, with_for_update=True)
            if order is None:
                raise ApplicationError(
                    f"order {ref.order_id} does not exist", type="OrderNotFound", non_retryable=True
                )
            if order.status not in PAID:
                raise ApplicationError(
                    f"order {ref.order_id} is {order.status}, not paid",
                    type="OrderNotPaid",
                    non_retryable=True,
                )
            if order.tickets_voided_at is not None:
                # A late attempt (it outlived its timeout while the order was refunded).
                raise ApplicationError(
                    f"order {ref.order_id}'s tickets were voided",
                    type="TicketsVoided",
                    non_retryable=True,
                )
            holds = (
                await s.scalars(
                    select(Hold).where(Hold.order_id == order.id).order_by(Hold.ticket_type_id)
                )
            ).all()
            rows = []
            position = 0
            for hold in holds:
                for _ in range(hold.quantity):
                    ticket_id = ticket_id_for(order.id, position)
                    rows.append(
                        {
                            "id": ticket_id,
                            "order_id": order.id,
                            "position": position,
                            "ticket_type_id": hold.ticket_type_id,
                            "code": self._signer.sign(ticket_id, order.event_id),
                            "key_id": self._signer.key_id,
                            "status": "valid",
                        }
                    )
                    position += 1
            if rows:
                await s.execute(
                    insert(Ticket)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["order_id", "position"])
                )
            tickets = (
                await s.scalars(
                    select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.position)
                )
            ).all()
            issued = [
                IssuedTicket(
                    ticket_id=str(t.id),
                    ticket_type_id=str(t.ticket_type_id),
                    position=t.position,
                    code=t.code,
                )
                for t in tickets
            ]
        activity.logger.info("order %s has %d tickets", ref.order_id, len(issued))
        return IssuedTickets(tickets=issued)

    @activity.defn(name="void_tickets")
    async def void_tickets(self, ref: OrderRef) -> Done:
        """Void every valid ticket of the order, or none if one has been used at the gate.

        The order is stamped voided first, which locks its row (as issuing does), then its
        tickets are locked, so neither an issue nor a check-in can slip in between the check and
        the update; a refusal rolls the stamp back. Once stamped, no later issue attempt writes
        valid tickets. Idempotent: voiding void tickets changes nothing (Done.changed False)."""
        async with self._sessions() as s, s.begin():
            await s.execute(
                update(Order)
                .where(Order.id == ref.order_id)
                .values(tickets_voided_at=func.coalesce(Order.tickets_voided_at, func.now()))
            )
            check_ins = (
                await s.scalars(
                    select(Ticket.checked_in_at)
                    .where(Ticket.order_id == ref.order_id)
                    .order_by(Ticket.position)
                    .with_for_update()
                )
            ).all()
            used = [at for at in check_ins if at is not None]
            if used:
                raise ApplicationError(
                    checked_in_refusal(ref.order_id, len(used)),
                    type="TicketCheckedIn",
                    non_retryable=True,
                )
            voided = (
                await s.scalars(
                    update(Ticket)
                    .where(Ticket.order_id == ref.order_id, Ticket.status == "valid")
                    .values(status="void")
                    .returning(Ticket.id)
                )
            ).all()
        activity.logger.info("order %s: %d tickets voided", ref.order_id, len(voided))
        return Done(changed=bool(voided))
