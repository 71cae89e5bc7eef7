"""OrderService: what a buyer does with an order, for every adapter (the JSON API now, the
storefront's pages next). It raises `OrderError` (an unknown event: `EventError`; both
`DomainError`s, never an HTTP status) and trusts its caller to have checked who may touch the
order (`auth/access.py`). Support's use cases are in `support.py`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.auth.idempotency_keys import guest_key_refusal
from boxoffice.core.database.models import Order
from boxoffice.core.errors import ErrorKind
from boxoffice.core.s3 import read_object
from boxoffice.core.settings import Settings
from boxoffice.orders.admission.sold_out_memo import SoldOutMemo
from boxoffice.orders.admission.turns import AdmissionTurns
from boxoffice.orders.client import OrderClient
from boxoffice.orders.creation import CreateOutcome, OrderCreation, Requester
from boxoffice.orders.domain import OrderError, buyer_refund_refusal, checked_in_refusal
from boxoffice.orders.messages import CancelRequest, PayResult
from boxoffice.orders.repository.read_model import checked_in_count, load_order
from boxoffice.orders.schemas import OrderCreate, OrderPublic

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class RefundTerms:
    """Whether the buyer may cancel a paid order now, by the rule the order's run applies:
    `refusal` says why not (None: they may), `deadline` until when they may, `used` whether
    a ticket got someone in already."""

    deadline: datetime | None
    refusal: str | None
    used: bool


@dataclass(frozen=True)
class Payment:
    """A payment attempt's outcome, and the order as it stands after it."""

    result: PayResult
    order: OrderPublic | None


def no_such_order(order_id: str) -> OrderError:
    return OrderError(ErrorKind.NOT_FOUND, f"No order with id {order_id}.")


class OrderService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: OrderClient,
        settings: Settings,
        s3: S3Client | None = None,
        memo: SoldOutMemo | None = None,
        turns: AdmissionTurns | None = None,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._settings = settings
        self._s3 = s3
        self._creation = OrderCreation(sessions, client, settings, memo, turns)

    def refuse_if_remembered(self, body: OrderCreate, idempotency_key: str | None) -> None:
        """The door's cheapest refusal: a type this process saw sold out a moment ago (raises
        `OrderError` SOLD_OUT). Callable before any other work a refusal does not need."""
        self._creation.refuse_if_remembered(body, idempotency_key)

    async def create(
        self, body: OrderCreate, idempotency_key: str | None, requester: Requester
    ) -> CreateOutcome:
        """Hold the seats: decided (the order exists, or an OrderError says why not) or, when
        the reservation takes longer than RESERVATION_WAIT_SECONDS, not decided yet."""
        if requester.account is None and idempotency_key is not None:
            # For a guest the key is a credential: the same key returns the order's token.
            refusal = guest_key_refusal(idempotency_key)
            if refusal is not None:
                raise OrderError(ErrorKind.INVALID, refusal)
        return await self._creation.create(body, idempotency_key, requester)

    async def find(self, order_id: str) -> OrderPublic | None:
        """The order as the API shows it; None while its reservation is being decided."""
        async with self._sessions() as session:
            order = await load_order(session, order_id)
        if order is not None:
            return order
        if _plausible_id(order_id) and await self._client.exists(order_id):
            return None
        raise no_such_order(order_id)

    async def pay(self, order_id: str, payment_method: str) -> Payment:
        """One payment attempt: succeeded, declined (the order stays held: another card may
        be tried) or requires_action (3-D Secure)."""
        await self._require(order_id)
        result = await self._client.pay(order_id, payment_method)
        async with self._sessions() as session:
            return Payment(result, await load_order(session, order_id))

    async def cancel(self, order_id: str, reason: str | None) -> OrderPublic:
        """During the hold: the seats go back (`cancelled`). After payment, while the event's
        refund policy allows and no ticket was used: refunded, tickets void, seats back."""
        await self._require(order_id)
        await self._client.cancel(order_id, CancelRequest(reason=reason))
        async with self._sessions() as session:
            order = await load_order(session, order_id)
        assert order is not None
        return order

    async def refund_terms(self, order_id: str) -> RefundTerms:
        """The order's refund terms as its run holds them (a postponement moves them)."""
        progress = await self._client.progress(order_id)
        async with self._sessions() as session:
            used = await checked_in_count(session, order_id)
        refusal = (
            checked_in_refusal(order_id, used)
            if used
            else buyer_refund_refusal(datetime.now(UTC), progress.refund_deadline)
        )
        return RefundTerms(progress.refund_deadline, refusal, used > 0)

    async def tickets_pdf(self, order_id: str) -> bytes:
        async with self._sessions() as session:
            order = await session.get(Order, order_id)
            key = order.tickets_pdf_key if order is not None else None
        if order is None:
            raise no_such_order(order_id)
        if key is None:
            raise OrderError(
                ErrorKind.NOT_FOUND, f"The tickets of order {order_id} are not issued yet."
            )
        assert self._s3 is not None, "tickets_pdf needs the S3 client"
        body = await asyncio.to_thread(read_object, self._s3, self._settings.s3_bucket, key)
        if body is None:
            raise OrderError(ErrorKind.NOT_FOUND, "The tickets document is missing from storage.")
        return body

    async def _require(self, order_id: str) -> None:
        """An unknown order is NOT_FOUND; no connection is held while the workflow answers."""
        async with self._sessions() as session:
            exists = await session.get(Order, order_id) is not None
        if not exists:
            raise no_such_order(order_id)


def _plausible_id(order_id: str) -> bool:
    return order_id.startswith("ord_") and len(order_id) <= 64
