"""The create path before `RESERVE_IN_API` (set it to false to run it): admission control,
then update-with-start, waiting a few seconds for the order's run to reserve the seats.

Kept so `make bench` measures both designs in one run. Admission control
(`admission/control.py`) refuses a request that the seats left, less those other buyers'
reservations are already on their way to take, cannot cover, before any run starts; the answer
then waits for a worker's turn, which a busy Temporal makes slow (a `202` after
RESERVATION_WAIT_SECONDS)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import WorkflowAlreadyStartedError

from boxoffice.core.database.models import Order
from boxoffice.core.errors import ErrorKind
from boxoffice.core.settings import Settings
from boxoffice.orders.admission.control import admit
from boxoffice.orders.admission.sold_out_memo import SoldOutMemo
from boxoffice.orders.admission.turns import AdmissionTurns
from boxoffice.orders.client import OrderClient, pipeline_config
from boxoffice.orders.domain import NOT_ENOUGH_SEATS, OrderError, OrderStatus
from boxoffice.orders.intake import (
    RETRY_SOON,
    CreateOutcome,
    Requester,
    answer_from_row,
    fingerprint,
    order_id_for,
    purchase_input,
    refuse_if_remembered,
    validate_items,
)
from boxoffice.orders.messages import PurchaseInput, ReservationAnswer
from boxoffice.orders.repository import admissions
from boxoffice.orders.schemas import OrderCreate

log = logging.getLogger(__name__)


class WaitingCreation:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: OrderClient,
        settings: Settings,
        memo: SoldOutMemo | None = None,
        turns: AdmissionTurns | None = None,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._settings = settings
        self._memo = memo
        self._turns = turns

    async def create(
        self, body: OrderCreate, idempotency_key: str | None, requester: Requester
    ) -> CreateOutcome:
        async with self._sessions() as session:
            return await self._admit_and_ask(session, body, idempotency_key, requester)

    async def _admit_and_ask(
        self,
        session: AsyncSession,
        body: OrderCreate,
        idempotency_key: str | None,
        requester: Requester,
    ) -> CreateOutcome:
        order_id = order_id_for(idempotency_key)
        request_fingerprint = fingerprint(body, requester.account)
        turns = self._turns
        async with turns.turn(body) if turns is not None else contextlib.nullcontext():
            # The type may have sold out while this request waited its turn.
            refuse_if_remembered(self._memo, body, idempotency_key)
            await admissions.begin_autocommit(session)
            checked = await validate_items(session, body, self._settings)
            items = checked.items
            if idempotency_key is not None:
                existing = await session.get(Order, order_id)
                if existing is not None:
                    return answer_from_row(existing, request_fingerprint)
            sold_out = await admit(
                session, order_id, items, self._settings.admission_lease_seconds, self._memo
            )
            await session.rollback()  # ends the autocommit work: gives the connection back
        keyed = idempotency_key is not None
        # A keyed request refused at the door may be the retry of the order that took the
        # last seats: it attaches to that order instead.
        if sold_out is not None and not (keyed and await self._client.exists(order_id)):
            raise OrderError(ErrorKind.SOLD_OUT, sold_out)
        if sold_out is None and self._memo is not None:
            self._memo.forget(body)
        order = purchase_input(
            order_id,
            body,
            checked,
            requester,
            request_fingerprint,
            pipeline_config(self._settings),
        )
        # No connection is held while waiting on Temporal (the session's transaction has ended).
        try:
            return await self._start_and_ask(session, order, keyed)
        except BaseException:
            # No reservation will follow this admission (or one is already on its way, and the
            # seats it counted are let go a little early: nothing is sold without the UPDATE).
            # A request cancelled mid-way (its client gone, the server stopping) withdraws too:
            # its admission would otherwise keep seats off sale until the lease ran out.
            await asyncio.shield(_withdraw_quietly(session, order_id))
            raise

    async def _start_and_ask(
        self, session: AsyncSession, order: PurchaseInput, keyed: bool
    ) -> CreateOutcome:
        if keyed and await self._client.closed(order.order_id):
            # Its run gave up (the database was away) without taking seats or writing the order
            # (else the lookup above found its row), so this key tries again in a new run.
            await self._client.start(order, again=True)
        try:
            answer = await self._client.start_and_reserve(order)
        except WorkflowAlreadyStartedError:
            # The order's run has closed (sold out, expired...): its row has the answer.
            existing = await session.get(Order, order.order_id)
            if existing is None:
                # Closed without an order: it gave up while the database was away.
                raise OrderError(ErrorKind.UNAVAILABLE, RETRY_SOON) from None
            # Read before the rollback below, which expires the row (a lazy load here is a 500).
            outcome = answer_from_row(existing, order.request_fingerprint)
            await session.rollback()
            return outcome
        if answer is None:
            # Not decided in time (no worker, or a burst): the client polls the order's Location.
            return CreateOutcome(order.order_id, decided=False)
        return _decided(order.order_id, answer)


def _decided(order_id: str, answer: ReservationAnswer) -> CreateOutcome:
    if answer.status == OrderStatus.SOLD_OUT:
        raise OrderError(ErrorKind.SOLD_OUT, answer.reason or NOT_ENOUGH_SEATS)
    if answer.status == OrderStatus.REJECTED:
        if answer.error_type == "InvalidOrder":
            raise OrderError(ErrorKind.INVALID, answer.reason or "The order is not valid.")
        log.warning("order %s: reservation rejected: %s", order_id, answer.reason)
        raise OrderError(ErrorKind.UNAVAILABLE, RETRY_SOON)
    return CreateOutcome(order_id, decided=True)


async def _withdraw_quietly(session: AsyncSession, order_id: str) -> None:
    """Best effort: when the database is what failed, the admission lapses by itself."""
    try:
        await admissions.end(session, order_id)
        await session.commit()
    except Exception:  # the original error is the one to report
        log.warning("order %s: could not withdraw its admission; it lapses", order_id)
        with contextlib.suppress(Exception):
            await session.rollback()
