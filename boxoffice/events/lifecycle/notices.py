"""The one email each buyer gets from an event-wide run: the event is cancelled (and what
became of their order), or it moved to a new date. At least once, with a stable Message-ID per
run and order (a retry is a visible duplicate), recorded so a restarted run does not send again."""

from __future__ import annotations

import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from boxoffice.core.database.models import Event, EventRunOrder
from boxoffice.core.mail import mask_email, one_line, parse_smtp_url, send_email
from boxoffice.events.domain import EventStatus
from boxoffice.events.lifecycle.messages import CANCEL, FAILED, EventRun, OrderTask
from boxoffice.orders.domain import PAID
from boxoffice.orders.messages import Done
from boxoffice.orders.repository import orders
from boxoffice.orders.tickets.pdf import format_price, format_starts_at

#: Recorded instead of a Message-ID when a later run tells the buyer instead.
SUPERSEDED = "superseded"


def notice_message_id(run_id: str, order_id: str) -> str:
    digest = hashlib.sha256(f"{run_id}:{order_id}".encode()).hexdigest()[:32]
    return f"<notice.{digest}@boxoffice>"


class NoticeActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], smtp_url: str, mail_from: str
    ) -> None:
        parse_smtp_url(smtp_url)  # a bad URL fails the worker at start, not every order
        self._sessions = sessions
        self._smtp_url = smtp_url
        self._mail_from = mail_from

    @activity.defn(name="notify_event_buyer")
    async def notify_buyer(self, task: OrderTask) -> Done:
        """Email the order's buyer what the run did, unless that was recorded as sent."""
        async with self._sessions() as session:
            done = await session.get(EventRunOrder, (task.run.run_id, task.order_id))
            if done is None or done.message_id is not None:
                return Done(changed=False)
            order, event = await orders.with_event(session, task.order_id)
            if task.run.kind != CANCEL and _superseded(task.run, event):
                # A later postponement (or the cancellation) tells this buyer instead.
                await _record(session, task, SUPERSEDED)
                await session.commit()
                return Done(changed=False)
            message = EmailMessage()
            message_id = notice_message_id(task.run.run_id, task.order_id)
            message["From"] = self._mail_from
            message["To"] = Address(
                display_name=one_line(order.buyer_name), addr_spec=order.buyer_email
            )
            message["Date"] = formatdate(usegmt=True)
            message["Message-ID"] = message_id
            name, venue = one_line(event.name), one_line(event.venue)
            greeting = f"Hello {order.buyer_name},\n\n"
            if task.run.kind == CANCEL:
                message["Subject"] = f"Cancelled: {name}"
                body = (
                    f"{name} at {venue}, {format_starts_at(event.starts_at)}, has been "
                    f"cancelled.\nThe organiser says: {task.run.reason}\n\n"
                    + _what_became_of(done.outcome, order.total_amount, order.currency)
                )
            else:
                message["Subject"] = f"New date: {name}"
                assert task.run.starts_at is not None and task.run.refund_deadline is not None
                moved = (
                    f"{name} at {venue} has moved to {format_starts_at(task.run.starts_at)}.\n"
                    f"The organiser says: {task.run.reason}\n\n"
                )
                # A buyer whose seats are only held has no tickets and paid nothing yet.
                body = moved + (
                    "Your tickets stay valid for the new date. If you cannot come, you may "
                    "cancel your order for a refund until "
                    f"{format_starts_at(task.run.refund_deadline)}.\n"
                    if order.status in PAID
                    else "Your seats are still held for you until your hold ends: if you pay "
                    "for them, your tickets are for the new date.\n"
                )
            message.set_content(greeting + body + f"\nOrder {order.id}\n")
        await send_email(self._smtp_url, message)
        async with self._sessions() as session, session.begin():
            await _record(session, task, message_id)
        activity.logger.info(
            "order %s: %s notice sent to %s",
            task.order_id,
            task.run.kind,
            mask_email(order.buyer_email),
        )
        return Done(changed=True)


async def _record(session: AsyncSession, task: OrderTask, message_id: str) -> None:
    await session.execute(
        update(EventRunOrder)
        .where(
            EventRunOrder.run_id == task.run.run_id,
            EventRunOrder.order_id == task.order_id,
        )
        .values(message_id=message_id)
    )


def _superseded(run: EventRun, event: Event) -> bool:
    return event.status == EventStatus.CANCELLED or event.postponements > run.number


def _what_became_of(outcome: str, amount: int, currency: str) -> str:
    if outcome == "refunded":
        return (
            f"Your payment of {format_price(amount, currency)} has been refunded to your card "
            "(it may take a few days to show). Your tickets are no longer valid.\n"
        )
    if outcome == FAILED:
        return (
            "We could not refund your payment automatically; our support team will contact "
            "you about it.\n"
        )
    return "The seats you were holding have been released; nothing was charged.\n"
