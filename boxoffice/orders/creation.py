"""Creating an order: the idempotency lookup, admission control, then update-with-start.

The order matters: (1) a repeated Idempotency-Key finds its order; (2) admission control
(`admission/control.py`) refuses a request that the seats left, less those other buyers'
reservations are already on their way to take, cannot cover, before any workflow starts: a
flash sale's losers cost no workflow (nor, for a moment after a type showed no seat free, any
query); (3) update-with-start waits for the reservation, but only for a few seconds.

Used by `OrderService.create`; raises `OrderError`, never an HTTP status."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import WorkflowAlreadyStartedError

from boxoffice.core.database.models import Addon, Event, Order, TicketType
from boxoffice.core.errors import ErrorKind
from boxoffice.core.settings import Settings
from boxoffice.events.domain import EventStatus, no_such_event, sales_refusal
from boxoffice.orders.admission.control import admit
from boxoffice.orders.admission.sold_out_memo import SoldOutMemo
from boxoffice.orders.admission.turns import AdmissionTurns
from boxoffice.orders.client import OrderClient, pipeline_config
from boxoffice.orders.domain import (
    NOT_ENOUGH_SEATS,
    OrderError,
    OrderStatus,
    addon_refusal,
    items_refusal,
    merged_quantities,
    too_many_tickets,
)
from boxoffice.orders.messages import (
    AddonItem,
    Buyer,
    OrderItem,
    PurchaseInput,
    ReservationAnswer,
)
from boxoffice.orders.repository import admissions
from boxoffice.orders.schemas import OrderCreate

log = logging.getLogger(__name__)
KEY_REUSED = "This Idempotency-Key was already used for a different order request."
RETRY_SOON = "The seats could not be reserved just now; please retry in a few seconds."
#: Namespace for order ids derived from Idempotency-Keys.
_ORDER_ID_NAMESPACE = uuid.UUID("6f1c2a4e-8d0b-4a57-9c36-2f8e5d1b7a90")


@dataclass(frozen=True)
class Requester:
    """Who asks: the account (None for a guest) that will own the order, and the client's
    network as a keyed hash (`auth/buyer_identity.py`), whose unpaid holds are limited."""

    account: str | None = None
    client: str | None = None


@dataclass
class CreateOutcome:
    order_id: str
    decided: bool  # False: not decided within the wait; the client polls
    existing: bool = False


def order_id_for(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return f"ord_{uuid.uuid4().hex}"
    return f"ord_{uuid.uuid5(_ORDER_ID_NAMESPACE, idempotency_key).hex}"


def fingerprint(body: OrderCreate, account: str | None = None) -> str:
    """The request's identity: the body, and the account placing it, so another account
    reusing an Idempotency-Key cannot obtain someone else's order."""
    # Without add-ons, the body as it was before add-ons were sold: a create retried across
    # the upgrade still matches its order.
    request = body.model_dump(mode="json", exclude=None if body.addons else {"addons"})
    if account is not None:
        request["__account"] = account
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def validate_items(
    session: AsyncSession, body: OrderCreate, settings: Settings
) -> tuple[list[OrderItem], list[AddonItem]]:
    """Merge repeated ticket types and check the request against the catalogue (the
    reservation checks the same rules again, `orders.domain`)."""
    event = await session.get(Event, body.event_id)
    if event is None or event.status == EventStatus.DRAFT:
        raise no_such_event(body.event_id)  # a draft is the organiser's alone
    merged = merged_quantities((str(i.ticket_type_id), i.quantity) for i in body.items)
    total = sum(quantity for _, quantity in merged)
    if total > settings.max_tickets_per_order:
        raise OrderError(ErrorKind.INVALID, too_many_tickets(settings.max_tickets_per_order, total))
    ids = [uuid.UUID(type_id) for type_id, _ in merged]
    found = {
        str(tt.id): tt
        for tt in (
            await session.execute(select(TicketType).where(TicketType.id.in_(ids)))
        ).scalars()
    }
    refusal = items_refusal(event.id, {type_id: found.get(type_id) for type_id, _ in merged})
    if refusal is not None:
        raise OrderError(ErrorKind.INVALID, refusal)
    now = datetime.now(UTC)
    for tt in found.values():
        # Here, so a sale that is not open costs no workflow; the reservation checks it again.
        refused = sales_refusal(tt, event, now)
        if refused is not None:
            raise OrderError(ErrorKind.REFUSED, refused)
    currency = next(iter(found.values())).currency
    addons = await _validate_addons(session, event.id, body, currency)
    return [OrderItem(type_id, quantity) for type_id, quantity in merged], addons


async def _validate_addons(
    session: AsyncSession, event_id: uuid.UUID, body: OrderCreate, currency: str
) -> list[AddonItem]:
    merged = merged_quantities((str(a.addon_id), a.quantity) for a in body.addons)
    if not merged:
        return []
    found = {
        str(addon.id): addon
        for addon in (
            await session.execute(
                select(Addon).where(Addon.id.in_([uuid.UUID(i) for i, _ in merged]))
            )
        ).scalars()
    }
    for addon_id, quantity in merged:
        addon = found.get(addon_id)
        if addon is None or addon.event_id != event_id or addon.hidden:
            raise OrderError(ErrorKind.INVALID, f"Add-on {addon_id} is not sold for this event.")
        refusal = addon_refusal(addon.name, quantity, addon.max_per_order, addon.currency, currency)
        if refusal is not None:
            raise OrderError(ErrorKind.INVALID, refusal)
        if addon.available < quantity:
            # Here, so a sold-out add-on costs no workflow; the reservation takes it for sure.
            raise OrderError(ErrorKind.SOLD_OUT, f"Not enough {addon.name} left.")
    return [AddonItem(addon_id, quantity) for addon_id, quantity in merged]


class OrderCreation:
    """One process's way of creating orders: its settings, its Temporal client, and its
    admission control's memory and turns (both per process)."""

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
        self.refuse_if_remembered(body, idempotency_key)
        # A refusal from memory costs no session at all: most requests of a flash sale end here.
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
            self.refuse_if_remembered(body, idempotency_key)
            await admissions.begin_autocommit(session)
            items, addons = await validate_items(session, body, self._settings)
            if idempotency_key is not None:
                existing = await session.get(Order, order_id)
                if existing is not None:
                    return _answer_from_row(existing, request_fingerprint)
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
        order = PurchaseInput(
            order_id=order_id,
            event_id=str(body.event_id),
            items=items,
            buyer=Buyer(
                email=str(body.buyer.email),
                name=body.buyer.name,
                account=requester.account,
                client=requester.client,
            ),
            payment_method=body.payment_method,
            request_fingerprint=request_fingerprint,
            config=pipeline_config(self._settings),
            addons=addons,
        )
        # No connection is held while waiting on Temporal (the session's transaction has ended).
        try:
            return await self._start_and_ask(session, order, keyed)
        except Exception:
            # No reservation will follow this admission (or one is already on its way, and the
            # seats it counted are let go a little early: nothing is sold without the UPDATE).
            await _withdraw_quietly(session, order_id)
            raise

    def refuse_if_remembered(self, body: OrderCreate, idempotency_key: str | None) -> None:
        """Raise the sold-out refusal when this process saw the type sold out a moment ago."""
        # A keyed request may belong to an order that took the last seats: it is looked up.
        memo = self._memo
        refusal = memo.refusal(body) if memo is not None and idempotency_key is None else None
        if refusal is not None:
            raise OrderError(ErrorKind.SOLD_OUT, refusal)

    async def _start_and_ask(
        self, session: AsyncSession, order: PurchaseInput, keyed: bool
    ) -> CreateOutcome:
        if keyed and await self._client.closed(order.order_id):
            # Its run gave up (the database was away) without taking seats or writing the order
            # (else the lookup above found its row), so this key tries again in a new run.
            await self._client.start_again(order)
        try:
            answer = await self._client.start_and_reserve(order)
        except WorkflowAlreadyStartedError:
            # The order's run has closed (sold out, expired...): its row has the answer.
            existing = await session.get(Order, order.order_id)
            if existing is None:
                # Closed without an order: it gave up while the database was away.
                raise OrderError(ErrorKind.UNAVAILABLE, RETRY_SOON) from None
            # Read before the rollback below, which expires the row (a lazy load here is a 500).
            outcome = _answer_from_row(existing, order.request_fingerprint)
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


def _answer_from_row(order: Order, request_fingerprint: str | None) -> CreateOutcome:
    if order.request_fingerprint and order.request_fingerprint != request_fingerprint:
        raise OrderError(ErrorKind.INVALID, KEY_REUSED)
    if order.status == OrderStatus.SOLD_OUT:
        raise OrderError(ErrorKind.SOLD_OUT, order.last_error or NOT_ENOUGH_SEATS)
    return CreateOutcome(order.id, decided=True, existing=True)
