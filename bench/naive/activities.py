"""The naive purchase's steps. Each does what our step of the same name does, against the same
services and with the same shared code (the conditional seat UPDATE, TicketSigner,
render_tickets_pdf, tickets_message, send_email), and is idempotent enough for the default
retry policy. Blocking calls (boto3, PDF rendering) go to a thread, as the SDK asks."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import stripe
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from bench.naive.messages import NAIVE_ORDER_KEY, Charge, Purchase, Reserved, Stored, Tickets
from boxoffice.core.mail import send_email
from boxoffice.core.s3 import read_object, tickets_pdf_key
from boxoffice.orders.receipt import order_receipt
from boxoffice.orders.tickets.codes import TicketSigner
from boxoffice.orders.tickets.mail import TicketsMail, tickets_links, tickets_message
from boxoffice.orders.tickets.pdf import (
    TicketPage,
    TicketsDocument,
    format_starts_at,
    render_tickets_pdf,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_TAKE = text(
    "UPDATE ticket_types SET available = available - :n "
    "WHERE id = :id AND available >= :n RETURNING available"
)
_TYPE_AND_EVENT = text(
    "SELECT t.event_id, t.name, t.price, t.currency, e.name, e.venue, e.starts_at"
    " FROM ticket_types t JOIN events e ON e.id = t.event_id WHERE t.id = :id"
)
_INSERT_ORDER = text(
    "INSERT INTO orders (id, event_id, buyer_email, buyer_name, items, total_amount, currency,"
    " status) VALUES (:id, :event, :email, :name, CAST(:items AS jsonb), :total, :currency,"
    " 'reserved') ON CONFLICT (id) DO NOTHING RETURNING id"
)
_INSERT_HOLD = text(
    "INSERT INTO holds (order_id, ticket_type_id, quantity, unit_price)"
    " VALUES (:order, :type, :n, :price)"
)
_INSERT_TICKET = text(
    "INSERT INTO tickets (id, order_id, position, ticket_type_id, code, key_id, status)"
    " VALUES (:id, :order, :position, :type, :code, :key, 'valid')"
    " ON CONFLICT (order_id, position) DO NOTHING"
)
_SET_STATUS = text("UPDATE orders SET status = :status, updated_at = now() WHERE id = :id")
_SET_PDF = text("UPDATE orders SET tickets_pdf_key = :key, updated_at = now() WHERE id = :id")


class NaiveActivities:
    def __init__(
        self,
        engine: AsyncEngine,
        stripe_client: stripe.StripeClient,
        s3: S3Client,
        bucket: str,
        smtp_url: str,
        signer: TicketSigner,
    ) -> None:
        self._engine = engine
        self._stripe = stripe_client
        self._s3 = s3
        self._bucket = bucket
        self._smtp_url = smtp_url
        self._signer = signer

    @activity.defn(name="naive_reserve")
    async def reserve(self, purchase: Purchase) -> Reserved:
        """Take the seats and write the order and its hold in one transaction; a retry after
        the commit finds the order and takes nothing (the insert conflicts, all rolls back)."""
        async with self._engine.connect() as conn:
            transaction = await conn.begin()
            found = (await conn.execute(_TYPE_AND_EVENT, {"id": purchase.ticket_type_id})).one()
            event_id, type_name, price, currency, event_name, venue, starts_at = found
            reserved = Reserved(
                order_id=purchase.order_id,
                event_id=str(event_id),
                event_name=event_name,
                venue=venue,
                starts_at=starts_at.isoformat(),
                ticket_type_id=purchase.ticket_type_id,
                ticket_type=type_name,
                quantity=purchase.quantity,
                unit_price=price,
                currency=currency,
                buyer_email=purchase.buyer_email,
                buyer_name=purchase.buyer_name,
            )
            taken = await conn.execute(
                _TAKE, {"n": purchase.quantity, "id": purchase.ticket_type_id}
            )
            if taken.first() is None:
                await transaction.rollback()
                raise ApplicationError("sold out", type="SoldOut", non_retryable=True)
            items = [
                {
                    "ticket_type_id": purchase.ticket_type_id,
                    "quantity": purchase.quantity,
                    "name": type_name,
                    "unit_price": price,
                }
            ]
            inserted = await conn.execute(
                _INSERT_ORDER,
                {
                    "id": purchase.order_id,
                    "event": event_id,
                    "email": purchase.buyer_email,
                    "name": purchase.buyer_name,
                    "items": json.dumps(items),
                    "total": price * purchase.quantity,
                    "currency": currency,
                },
            )
            if inserted.first() is None:  # reserved by an earlier attempt
                await transaction.rollback()
                return reserved
            await conn.execute(
                _INSERT_HOLD,
                {
                    "order": purchase.order_id,
                    "type": purchase.ticket_type_id,
                    "n": purchase.quantity,
                    "price": price,
                },
            )
            await transaction.commit()
        return reserved

    @activity.defn(name="naive_charge")
    async def charge(self, request: Charge) -> str:
        """PaymentIntent create, then confirm, then the order is paid."""
        intent = await self._stripe.v1.payment_intents.create_async(
            params={
                "amount": request.amount,
                "currency": request.currency.lower(),
                "payment_method": request.payment_method,
                # Not `order_id`: our API's webhook would take it for one of ours (and refund
                # it as a late payment once the naive run has closed).
                "metadata": {NAIVE_ORDER_KEY: request.order_id},
            },
            options={"idempotency_key": f"naive-{request.order_id}"},
        )
        intent = await self._stripe.v1.payment_intents.confirm_async(intent.id)
        if intent.status != "succeeded":
            raise ApplicationError(f"payment {intent.status}", type="NotPaid", non_retryable=True)
        async with self._engine.begin() as conn:
            await conn.execute(_SET_STATUS, {"status": "paid", "id": request.order_id})
        return str(intent.id)

    @activity.defn(name="naive_issue_tickets")
    async def issue_tickets(self, reserved: Reserved) -> Tickets:
        """One signed code per seat, written as the order's tickets (ids derived from the order
        and position, so a retry writes nothing new)."""
        tickets = Tickets(reserved=reserved)
        async with self._engine.begin() as conn:
            for position in range(reserved.quantity):
                ticket_id = uuid.uuid5(uuid.NAMESPACE_URL, f"naive:{reserved.order_id}:{position}")
                code = self._signer.sign(ticket_id, uuid.UUID(reserved.event_id))
                await conn.execute(
                    _INSERT_TICKET,
                    {
                        "id": ticket_id,
                        "order": reserved.order_id,
                        "position": position,
                        "type": reserved.ticket_type_id,
                        "code": code,
                        "key": self._signer.key_id,
                    },
                )
                tickets.codes.append(code)
                tickets.ticket_ids.append(str(ticket_id))
        return tickets

    @activity.defn(name="naive_store_pdf")
    async def store_pdf(self, tickets: Tickets) -> Stored:
        reserved = tickets.reserved
        document = TicketsDocument(
            order_id=reserved.order_id,
            event_name=reserved.event_name,
            venue=reserved.venue,
            starts_at=datetime.fromisoformat(reserved.starts_at),
            buyer_name=reserved.buyer_name,
            currency=reserved.currency,
            tickets=[
                TicketPage(
                    ticket_id=ticket_id,
                    code=code,
                    ticket_type=reserved.ticket_type,
                    price=reserved.unit_price,
                )
                for ticket_id, code in zip(tickets.ticket_ids, tickets.codes, strict=True)
            ],
            total=reserved.unit_price * reserved.quantity,
        )
        pdf = await asyncio.to_thread(render_tickets_pdf, document)
        key = tickets_pdf_key(reserved.order_id)
        await asyncio.to_thread(
            self._s3.put_object,
            Bucket=self._bucket,
            Key=key,
            Body=pdf,
            ContentType="application/pdf",
        )
        async with self._engine.begin() as conn:
            await conn.execute(_SET_PDF, {"key": key, "id": reserved.order_id})
        return Stored(reserved=reserved, pdf_key=key, ticket_count=len(tickets.codes))

    @activity.defn(name="naive_email_tickets")
    async def email_tickets(self, stored: Stored) -> str:
        """Read the PDF back from S3, send it, and the order is completed."""
        reserved = stored.reserved
        pdf = await asyncio.to_thread(read_object, self._s3, self._bucket, stored.pdf_key)
        if pdf is None:
            raise ApplicationError(f"no PDF at {stored.pdf_key}", type="PdfMissing")
        total = reserved.unit_price * reserved.quantity
        items = [
            {
                "name": reserved.ticket_type,
                "quantity": reserved.quantity,
                "unit_price": reserved.unit_price,
            }
        ]
        mail = TicketsMail(
            order_id=reserved.order_id,
            buyer_name=reserved.buyer_name,
            buyer_email=reserved.buyer_email,
            event_name=reserved.event_name,
            venue=reserved.venue,
            starts_at=format_starts_at(datetime.fromisoformat(reserved.starts_at)),
            ticket_count=stored.ticket_count,
            pdf_key=stored.pdf_key,
            receipt=order_receipt(items, [], total, reserved.currency),
            has_account=True,  # links without a guest token: nothing to sign
        )
        message_id = f"<naive.{reserved.order_id}@bench>"
        message = tickets_message(
            mail,
            tickets_links("http://127.0.0.1", reserved.order_id, None),
            mail_from="boxoffice <tickets@example.com>",
            recipient=reserved.buyer_email,
            message_id=message_id,
            pdf=pdf,
        )
        await send_email(self._smtp_url, message)
        async with self._engine.begin() as conn:
            await conn.execute(_SET_STATUS, {"status": "completed", "id": reserved.order_id})
        return message_id
