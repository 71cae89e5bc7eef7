"""What a PurchaseWorkflow run knows, in small dataclasses, and what every phase of it shares.

The phases are mixins, each in the module named for it (payment, compensation, hold,
fulfilment), stacked in that order under `PurchaseWorkflow` (purchase.py): each calls only
what the ones below it define. All of it is workflow code: deterministic, no I/O."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from boxoffice.core.temporal import search_attributes as sa
    from boxoffice.orders.activities.inventory import InventoryActivities
    from boxoffice.orders.domain import OrderStatus
    from boxoffice.orders.messages import (
        CancelRequest,
        CancelResult,
        EventMoved,
        HoldExpiryChange,
        PipelineConfig,
        PurchaseInput,
        ReleaseInput,
        ReservationAnswer,
        ReserveResult,
        StatusChange,
        SupportAction,
    )
    from boxoffice.orders.workflow import activity_options as options


@dataclass
class HoldState:
    """The seats' hold: when it ends (support may move that, which wakes the hold loop), and
    whether its end is being decided."""

    started: datetime | None = None
    expires_at: datetime | None = None
    extended_by: timedelta = timedelta(0)
    # The hold starts short (config.first_hold_seconds) and gets its whole length once a card
    # is tried: seats held by someone who never pays come back sooner.
    lengthened: bool = False
    # Once the hold's end (or a cancel) is being decided, no new payment starts.
    closing: bool = False


@dataclass
class PaymentState:
    attempts: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    in_flight: bool = False
    # The attempt whose PaymentIntent awaits 3-D Secure; decided at expiry or by the webhook.
    open_attempt: int | None = None
    # Stripe's webhook said a PaymentIntent succeeded; the run reads the intent itself.
    news: bool = False
    # Every PaymentIntent the webhook named, in arrival order, and how many were looked at:
    # once the hold is decided, any this order does not keep is refunded.
    news_intents: list[str] = field(default_factory=list)
    news_handled: int = 0
    refunds_strays: bool = False
    paid: bool = False
    kept_intent: str | None = None


@dataclass
class CancelState:
    """A cancel (buyer's or support's) under way, and how it ended."""

    request: CancelRequest | None = None
    result: CancelResult | None = None
    refusal: str | None = None
    # Stripe refused the refund: the order waits for support to cancel it again.
    refund_refused: bool = False


@dataclass
class SupportState:
    retry: SupportAction | None = None
    resends: int = 0


class OrderRun:
    """The state of one order's run, and the steps every phase takes."""

    _order: PurchaseInput
    _config: PipelineConfig
    _status: OrderStatus
    _step: str
    _reservation: ReserveResult | None
    _answer: ReservationAnswer | None
    _last_error: str | None
    _holding: HoldState
    _payment: PaymentState
    _cancel: CancelState
    _support: SupportState
    # The organiser moved the event (a postponement): the stay-open timer is set anew.
    _event_moved: bool
    _move: EventMoved | None

    def _start_state(self, order: PurchaseInput) -> None:
        self._order = order
        self._config = order.config
        self._status = OrderStatus.PENDING
        self._step = "reserve"
        self._reservation = None
        self._answer = None
        self._last_error = None
        self._holding = HoldState()
        self._payment = PaymentState()
        self._cancel = CancelState()
        self._support = SupportState()
        self._event_moved = False
        self._move = None

    def _set_status(self, status: OrderStatus) -> None:
        if status != self._status:
            self._status = status
            workflow.upsert_search_attributes([sa.ORDER_STATUS.value_set(status)])

    def _require_reservation(self) -> ReserveResult:
        assert self._reservation is not None, "reserve runs first"
        return self._reservation

    async def _release(self, final_status: OrderStatus, reason: str | None) -> None:
        """Give the seats back and end the order with `final_status`."""
        self._step = "release"
        await workflow.execute_activity_method(
            InventoryActivities.release_seats,
            ReleaseInput(self._order.order_id, final_status, reason),
            **options.inventory(self._config),
        )
        self._step = "done"
        self._set_status(final_status)

    def _first_hold_seconds(self) -> int:
        return self._config.first_hold()

    async def _lengthen_first_hold(self) -> None:
        """A card was tried: the hold gets its whole length (plus what support added)."""
        hold = self._holding
        if hold.lengthened or hold.closing or not self._config.first_hold_seconds:
            return
        hold.lengthened = True
        assert hold.started is not None and hold.expires_at is not None
        whole = hold.started + timedelta(seconds=self._config.hold_seconds) + hold.extended_by
        if whole <= hold.expires_at:
            return
        hold.expires_at = whole
        await workflow.execute_activity_method(
            InventoryActivities.record_hold_expiry,
            HoldExpiryChange(self._order.order_id, whole),
            **options.inventory(self._config),
        )

    async def _needs_attention(self, error: str) -> None:
        self._last_error = error
        self._set_status(OrderStatus.NEEDS_ATTENTION)
        workflow.upsert_search_attributes([sa.NEEDS_ATTENTION_SINCE.value_set(workflow.now())])
        await workflow.execute_activity_method(
            InventoryActivities.record_status,
            StatusChange(self._order.order_id, OrderStatus.NEEDS_ATTENTION, error),
            **options.inventory(self._config),
        )
