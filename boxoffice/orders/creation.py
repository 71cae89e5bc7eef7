"""Creating an order: the idempotency lookup, a refusal at the door, then the reservation.

By default (`RESERVE_IN_API`) the API process reserves the seats itself, right after starting
the order's run, so a buyer who gets a seat hears so after one workflow start and one database
transaction, never after a worker's turn on a busy Temporal:

1. a repeated Idempotency-Key finds its order's row;
2. a type with too few seats left, as just read, is refused at once (and remembered sold out
   for a moment when none is left), so most of a flash sale's losers start no run;
3. the order's run is started (Temporal records it; no worker is waited for);
4. the seats are taken by the same code and transaction as the run's own reservation
   (`InventoryActivities.reserve_seats`), keyed by the order: whichever of the API and the run
   comes first takes them, and the other finds the order's row and adopts it. The run's hold
   timer is armed from that row.

The run is started *before* the seats are taken, so no process death strands a seat: killed
before the start, nothing happened; after it, the run reserves (or adopts) the seats itself and
releases them when its hold ends (`tests/orders/chaos/test_api_kills.py`).

With `RESERVE_IN_API=false` the design before it runs instead: admission control, then
update-with-start waiting for the run's reservation (`orders/admission/waiting.py`); `make
bench` measures both in one run. Raises `OrderError`, never an HTTP status."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from boxoffice.core.database.models import Order
from boxoffice.core.errors import ErrorKind
from boxoffice.core.settings import Settings
from boxoffice.orders.activities.inventory import InventoryActivities
from boxoffice.orders.admission.sold_out_memo import SoldOutMemo
from boxoffice.orders.admission.turns import AdmissionTurns, Turn
from boxoffice.orders.admission.waiting import WaitingCreation
from boxoffice.orders.client import OrderClient, pipeline_config
from boxoffice.orders.domain import NOT_ENOUGH_SEATS, OrderError
from boxoffice.orders.intake import (
    RETRY_SOON,
    Checked,
    CreateOutcome,
    Requester,
    Short,
    answer_from_row,
    fingerprint,
    order_id_for,
    purchase_input,
    refuse_if_remembered,
    validate_items,
)
from boxoffice.orders.messages import PurchaseInput, ReserveInput
from boxoffice.orders.schemas import OrderCreate

__all__ = ["CreateOutcome", "OrderCreation", "Requester"]
log = logging.getLogger(__name__)


class OrderCreation:
    """One process's way of creating orders: its settings, its Temporal client, its sold-out
    memory (per process), and the reservation code the order's run uses too."""

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
        self._inventory = InventoryActivities(
            sessions,
            settings.max_tickets_per_buyer_per_event,
            settings.max_unpaid_tickets_per_client,
        )
        self._turns = turns
        self._waiting = WaitingCreation(sessions, client, settings, memo, turns)

    def refuse_if_remembered(self, body: OrderCreate, idempotency_key: str | None) -> None:
        """Raise the sold-out refusal when this process saw the type sold out a moment ago."""
        refuse_if_remembered(self._memo, body, idempotency_key)

    async def create(
        self, body: OrderCreate, idempotency_key: str | None, requester: Requester
    ) -> CreateOutcome:
        self.refuse_if_remembered(body, idempotency_key)
        if not self._settings.reserve_in_api:
            return await self._waiting.create(body, idempotency_key, requester)
        turns = self._turns
        # Only a few requests per type go on at once, and beyond them those the seats known
        # to be left cover (`admission/turns.py`): the others wait, and most find the type
        # remembered sold out when their turn comes, so a burst's losers start no run.
        async with turns.turn(body) if turns is not None else contextlib.nullcontext() as turn:
            self.refuse_if_remembered(body, idempotency_key)
            return await self._create(body, idempotency_key, requester, turn)

    async def _create(
        self,
        body: OrderCreate,
        idempotency_key: str | None,
        requester: Requester,
        turn: Turn | None,
    ) -> CreateOutcome:
        order_id = order_id_for(idempotency_key)
        request_fingerprint = fingerprint(body, requester.account)
        async with self._sessions() as session:
            checked = await validate_items(session, body, self._settings)
            if turn is not None:
                turn.read({(tt.event_id, tt.id): tt.available for tt in checked.types.values()})
            if idempotency_key is not None:
                existing = await session.get(Order, order_id)
                if existing is not None:
                    return answer_from_row(existing, request_fingerprint)
            short = checked.seats_short()
            await session.rollback()  # no connection is held while Temporal answers
        keyed = idempotency_key is not None
        if short is not None and not (keyed and await self._client.exists(order_id)):
            # A keyed request refused here may be the retry of the order that took the last
            # seats (its run still writing the row): it attaches to that order instead.
            self._refuse_short(short)
        order = purchase_input(
            order_id,
            body,
            checked,
            requester,
            request_fingerprint,
            pipeline_config(self._settings),
        )
        try:
            await self._client.start(order)
        except WorkflowAlreadyStartedError:
            answer = await self._closed_run_answer(order)
            if answer is not None:
                return answer
            if not keyed:
                raise OrderError(ErrorKind.UNAVAILABLE, RETRY_SOON) from None
            # Its run gave up (the database was away) without taking seats or writing the
            # order: this key tries again in a new run.
            await self._client.start(order, again=True)
        return await self._reserve(body, order, checked, turn)

    def _refuse_short(self, short: Short) -> NoReturn:
        detail = f"Not enough seats left for {short.name} ({short.available} available)."
        if self._memo is not None and short.available <= 0:
            self._memo.remember(short.event_id, short.type_id, detail)
        raise OrderError(ErrorKind.SOLD_OUT, detail)

    async def _reserve(
        self, body: OrderCreate, order: PurchaseInput, checked: Checked, turn: Turn | None
    ) -> CreateOutcome:
        """Take the seats here, as the run would (it adopts them). A failure other than a
        refusal leaves the reservation to the run: the buyer polls the order."""
        hold_ends = datetime.now(UTC) + timedelta(seconds=order.config.first_hold())
        try:
            result = await self._inventory.reserve_seats(
                ReserveInput(
                    order_id=order.order_id,
                    event_id=order.event_id,
                    items=checked.items,
                    buyer=order.buyer,
                    hold_expires_at=hold_ends,
                    request_fingerprint=order.request_fingerprint,
                    addons=checked.addons,
                )
            )
        except ApplicationError as refused:
            if refused.type == "InvalidOrder":  # the run finds the same, and ends
                raise OrderError(ErrorKind.INVALID, refused.message) from None
            log.warning("order %s: reserving in the API failed: %s", order.order_id, refused)
            return CreateOutcome(order.order_id, decided=False)
        except Exception as error:  # the database away: the run's reservation retries
            log.warning("order %s: reserving in the API failed: %r", order.order_id, error)
            return CreateOutcome(order.order_id, decided=False)
        if not result.reserved:
            raise OrderError(ErrorKind.SOLD_OUT, result.reason or NOT_ENOUGH_SEATS)
        if turn is not None:
            turn.reserved()
        if self._memo is not None:
            self._memo.forget(body)
        return CreateOutcome(order.order_id, decided=True)

    async def _closed_run_answer(self, order: PurchaseInput) -> CreateOutcome | None:
        """The order's run has closed (sold out, expired...): its row has the answer; None
        when it closed without writing one."""
        async with self._sessions() as session:
            existing = await session.get(Order, order.order_id)
            return (
                None if existing is None else answer_from_row(existing, order.request_fingerprint)
            )
