"""PurchaseWorkflow: one order's whole life, from the seat hold to the event being over.

Reserve -> hold (pay, cancel or expire) -> issue -> store -> email -> stay open for refunds.
This module holds the run and its messages; each phase is a module of its own (hold, payment,
compensation, fulfilment; their state in state.py). Deterministic: no I/O, clocks or randomness;
every outside effect is an activity, called by reference (tests register fakes by name)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from boxoffice.core.temporal import search_attributes as sa
    from boxoffice.orders.activities.email import EmailActivities
    from boxoffice.orders.activities.inventory import InventoryActivities
    from boxoffice.orders.domain import (
        FINAL,
        HELD,
        REASON_REQUIRED,
        OrderStatus,
        buyer_refund_refusal,
        is_open,
        missing_reason,
        support_refund_refusal,
    )
    from boxoffice.orders.messages import (
        CancelRequest,
        CancelResult,
        EmailSent,
        EventMoved,
        ExtendHold,
        HoldExpiryChange,
        HoldExtended,
        OrderProgress,
        PaymentSucceeded,
        PayRequest,
        PayResult,
        PurchaseInput,
        ResendInput,
        ResendRequest,
        ReservationAnswer,
        SupportAction,
    )
    from boxoffice.orders.workflow import activity_options as options
    from boxoffice.orders.workflow.fulfilment import FulfilmentSteps


@workflow.defn
class PurchaseWorkflow(FulfilmentSteps):
    @workflow.init
    def __init__(self, order: PurchaseInput) -> None:
        self._start_state(order)

    @workflow.run
    async def run(self, order: PurchaseInput) -> str:
        # Runs started before stray payments were refunded replay without it.
        self._payment.refunds_strays = workflow.patched("refund-stray-payments")
        workflow.upsert_search_attributes(
            [
                sa.EVENT_ID.value_set(order.event_id),
                sa.ORDER_STATUS.value_set(OrderStatus.PENDING),
            ]
        )
        if await self._reserve() and await self._hold() and not await self._cancel_if_asked():
            # Stripe refused to refund a cancel made during the hold: its tickets must not be
            # issued; it waits, in needs_attention, for support to cancel it again.
            if not self._cancel.refund_refused:
                await self._fulfil()
            if self._status == OrderStatus.COMPLETED or self._cancel.refund_refused:
                await self._stay_open_for_refunds()
        await workflow.wait_condition(workflow.all_handlers_finished)
        while self._stray_news():
            # A message may arrive while a refund runs: the run still ends with none unhandled.
            await self._refund_stray_payments()
            await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status

    # --- the buyer's messages ------------------------------------------------------------

    @workflow.update(name="reservation")
    async def reservation(self) -> ReservationAnswer:
        """The create call's answer: seats held until a time, or sold out."""
        await workflow.wait_condition(lambda: self._answer is not None)
        assert self._answer is not None
        return self._answer

    @workflow.update
    async def pay(self, request: PayRequest) -> PayResult:
        if self._answer is None:
            # Accepted while the seats were being taken: the API told the buyer "held" before
            # this run adopted its reservation (orders/creation.py). Runs from before never get
            # here (their validator refused a pending order), so their histories replay.
            await workflow.wait_condition(lambda: self._answer is not None)
            self._validate_pay(request)
        return await self._attempt_payment(request.payment_method)

    @pay.validator
    def _validate_pay(self, request: PayRequest) -> None:
        if self._payment.paid:
            raise ApplicationError("This order is already paid.", type="InvalidState")
        if self._answer is None:
            return  # the reservation is under way: the handler waits for it
        if self._status not in HELD or self._holding.closing:
            raise ApplicationError(
                f"This order is {self._status}; it can no longer be paid.", type="InvalidState"
            )
        self._refuse_if_out_of_attempts()

    @workflow.update
    async def cancel(self, request: CancelRequest) -> CancelResult:
        if self._answer is None:
            # As for pay: accepted while the reservation was under way.
            await workflow.wait_condition(lambda: self._answer is not None)
            self._validate_cancel(request)
        return await self._cancel_and_wait(request)

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self._answer is None and self._status == OrderStatus.PENDING:
            return  # the reservation is under way: the handler waits for it
        if not is_open(self._status):
            raise ApplicationError(f"This order is {self._status}.", type="InvalidState")
        reservation = self._reservation
        if self._payment.paid and request.actor == "buyer" and reservation is not None:
            refusal = buyer_refund_refusal(workflow.now(), reservation.refund_deadline)
            if refusal is not None:
                raise ApplicationError(refusal, type="RefundPeriodOver")

    @workflow.signal
    def payment_succeeded(self, news: PaymentSucceeded) -> None:
        """Fire-and-forget news from the Stripe webhook; the run reads the intent itself."""
        self._payment.news = True
        if news.payment_intent_id not in self._payment.news_intents:
            self._payment.news_intents.append(news.payment_intent_id)

    @workflow.signal
    def event_moved(self, moved: EventMoved) -> None:
        """The organiser postponed the event: a new start, and a new refund deadline."""
        if self._move is not None and moved.number < self._move.number:
            return  # an earlier postponement's news, overtaken by a later one
        self._move = moved  # kept for a reservation still on its way (hold.py applies it)
        if self._reservation is not None:
            self._reservation.event_starts_at = moved.starts_at
            self._reservation.refund_deadline = moved.refund_deadline
        self._event_moved = True

    @workflow.query
    def status(self) -> OrderProgress:
        return OrderProgress(
            status=self._status,
            step=self._step,
            hold_expires_at=self._holding.expires_at,
            payment_attempts=self._payment.attempts,
            last_error=self._last_error,
            refund_deadline=(
                self._reservation.refund_deadline if self._reservation is not None else None
            ),
        )

    # --- support's messages (each says who and why) --------------------------------------

    @workflow.update
    async def support_cancel(self, action: SupportAction) -> CancelResult:
        """Support cancels any open order: seats back; when paid, refund and void tickets. No
        refund deadline applies."""
        return await self._cancel_and_wait(CancelRequest(reason=action.reason, actor=action.actor))

    @support_cancel.validator
    def _validate_support_cancel(self, action: SupportAction) -> None:
        _require_reason(action.reason)
        if not is_open(self._status):
            raise ApplicationError(f"This order is {self._status}.", type="InvalidState")

    @workflow.update
    async def refund(self, action: SupportAction) -> CancelResult:
        """A completed order refunded through the same compensation as a cancel; asked while
        the tickets' email goes out, once it has (see `resend`)."""
        await self._once_emailed()
        refusal = self._refund_refusal()
        if refusal is not None:
            raise ApplicationError(refusal, type="InvalidState")
        return await self._cancel_and_wait(CancelRequest(reason=action.reason, actor=action.actor))

    @refund.validator
    def _validate_refund(self, action: SupportAction) -> None:
        _require_reason(action.reason)
        refusal = None if self._emailing() else self._refund_refusal()
        if refusal is not None:
            raise ApplicationError(refusal, type="InvalidState")

    def _refund_refusal(self) -> str | None:
        starts_at = (
            self._require_reservation().event_starts_at
            if self._status == OrderStatus.COMPLETED
            else None
        )
        return support_refund_refusal(self._status, workflow.now(), starts_at)

    @workflow.update
    async def extend_hold(self, request: ExtendHold) -> HoldExtended:
        """Lengthen the hold (a buyer on the phone with support), within the configured bound."""
        hold = self._holding
        assert hold.expires_at is not None
        hold.expires_at += timedelta(minutes=request.minutes)
        hold.extended_by += timedelta(minutes=request.minutes)
        await workflow.execute_activity_method(
            InventoryActivities.record_hold_expiry,
            HoldExpiryChange(self._order.order_id, hold.expires_at),
            **options.inventory(self._config),
        )
        return HoldExtended(hold_expires_at=hold.expires_at)

    @extend_hold.validator
    def _validate_extend_hold(self, request: ExtendHold) -> None:
        _require_reason(request.reason)
        if self._status not in HELD or self._holding.closing:
            raise ApplicationError(
                f"Only a held order can be extended; this one is {self._status}.",
                type="InvalidState",
            )
        limit = timedelta(seconds=self._config.max_hold_extension_seconds)
        asked = timedelta(minutes=request.minutes)
        used = self._holding.extended_by
        if request.minutes < 1 or used + asked > limit:
            raise ApplicationError(
                f"A hold may be extended by {int(limit.total_seconds() // 60)} minutes in all "
                f"({int(used.total_seconds() // 60)} used so far).",
                type="InvalidRequest",
            )

    @workflow.update
    async def resend(self, request: ResendRequest) -> EmailSent:
        """Send the tickets again: a new message with its own Message-ID. Asked while the
        first email goes out, it waits for that step, so the resend follows the first message."""
        await self._once_emailed()
        refusal = self._resend_refusal()
        if refusal is not None:
            raise ApplicationError(refusal, type="InvalidState")
        self._support.resends += 1
        return await workflow.execute_activity_method(
            EmailActivities.resend_tickets_email,
            ResendInput(self._order.order_id, self._support.resends, request.to),
            **options.fulfilment(self._config),
        )

    @resend.validator
    def _validate_resend(self, request: ResendRequest) -> None:
        _require_reason(request.reason)
        refusal = None if self._emailing() else self._resend_refusal()
        if refusal is not None:
            raise ApplicationError(refusal, type="InvalidState")

    def _resend_refusal(self) -> str | None:
        if self._status != OrderStatus.COMPLETED:
            return f"Tickets are sent for completed orders; this one is {self._status}."
        return None

    @workflow.update
    async def support_retry(self, action: SupportAction) -> str:
        """Support asks a failed step to run again; the order continues from that step."""
        self._support.retry = action
        # Also done when the order ended meanwhile, so no handler is left waiting for ever.
        await workflow.wait_condition(lambda: self._support.retry is None or self._status in FINAL)
        return self._status

    @support_retry.validator
    def _validate_support_retry(self, action: SupportAction) -> None:
        if self._status != OrderStatus.NEEDS_ATTENTION:
            raise ApplicationError(
                f"Only an order that needs attention can be retried; this one is {self._status}.",
                type="InvalidState",
            )
        if self._cancel.request is not None:
            raise ApplicationError(
                "A cancel of this order is under way; it cannot be retried.",
                type="InvalidState",
            )
        if self._cancel.refund_refused:
            raise ApplicationError(
                "Stripe refused this order's refund: once that is sorted out, cancel (or refund) "
                "the order again; there is no step to retry.",
                type="InvalidState",
            )
        _require_reason(action.reason)


def _require_reason(reason: str) -> None:
    if missing_reason(reason):
        raise ApplicationError(REASON_REQUIRED, type="InvalidRequest")
