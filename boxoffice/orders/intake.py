"""What every create does before anything is reserved: the order's id (from the
Idempotency-Key), the request's fingerprint, the request checked against the catalogue, and
the answer an existing order's row gives. Used by `orders/creation.py`."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.core.database.models import Addon, Event, Order, TicketType
from boxoffice.core.errors import ErrorKind
from boxoffice.core.settings import Settings
from boxoffice.events.domain import EventStatus, no_such_event, sales_refusal
from boxoffice.orders.admission.sold_out_memo import SoldOutMemo
from boxoffice.orders.domain import (
    NOT_ENOUGH_SEATS,
    OrderError,
    OrderStatus,
    addon_refusal,
    items_refusal,
    merged_quantities,
    too_many_tickets,
)
from boxoffice.orders.messages import AddonItem, Buyer, OrderItem, PipelineConfig, PurchaseInput
from boxoffice.orders.schemas import OrderCreate

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


@dataclass
class Checked:
    """A request checked against the catalogue: its lines, and the ticket types as read."""

    items: list[OrderItem]
    addons: list[AddonItem]
    types: dict[str, TicketType]

    def seats_short(self) -> Short | None:
        """A type with fewer seats left than the request asks for, as just read (unlocked: a
        hint that refuses a request at the door, never what sells a seat)."""
        for item in self.items:
            tt = self.types[item.ticket_type_id]
            if tt.available < item.quantity:
                return Short(tt.event_id, tt.id, tt.name, tt.available)
        return None


@dataclass(frozen=True)
class Short:
    """A ticket type that cannot cover a request, read before its session ended."""

    event_id: uuid.UUID
    type_id: uuid.UUID
    name: str
    available: int


async def validate_items(session: AsyncSession, body: OrderCreate, settings: Settings) -> Checked:
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
    return Checked([OrderItem(type_id, quantity) for type_id, quantity in merged], addons, found)


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


def answer_from_row(order: Order, request_fingerprint: str | None) -> CreateOutcome:
    if order.request_fingerprint and order.request_fingerprint != request_fingerprint:
        raise OrderError(ErrorKind.INVALID, KEY_REUSED)
    if order.status == OrderStatus.SOLD_OUT:
        raise OrderError(ErrorKind.SOLD_OUT, order.last_error or NOT_ENOUGH_SEATS)
    return CreateOutcome(order.id, decided=True, existing=True)


def purchase_input(
    order_id: str,
    body: OrderCreate,
    checked: Checked,
    requester: Requester,
    request_fingerprint: str,
    config: PipelineConfig,
) -> PurchaseInput:
    """The order's run's input, from the checked request."""
    return PurchaseInput(
        order_id=order_id,
        event_id=str(body.event_id),
        items=checked.items,
        buyer=Buyer(
            email=str(body.buyer.email),
            name=body.buyer.name,
            account=requester.account,
            client=requester.client,
        ),
        payment_method=body.payment_method,
        request_fingerprint=request_fingerprint,
        config=config,
        addons=checked.addons,
    )


def refuse_if_remembered(
    memo: SoldOutMemo | None, body: OrderCreate, idempotency_key: str | None
) -> None:
    """Raise the sold-out refusal when this process saw the type sold out a moment ago. A
    keyed request may belong to an order that took the last seats: it is looked up instead."""
    refusal = memo.refusal(body) if memo is not None and idempotency_key is None else None
    if refusal is not None:
        raise OrderError(ErrorKind.SOLD_OUT, refusal)
