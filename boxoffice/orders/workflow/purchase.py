"""PurchaseWorkflow: one order's whole life, from the seat hold to the event being over.

Reserve -> hold (pay, cancel or expire) -> issue -> store -> email -> stay open for refunds.
Deterministic: no I/O, clocks or randomness here; every outside effect is an activity, called by
name so tests can replace it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from boxoffice.core.temporal import search_attributes as sa
    from boxoffice.orders.messages import (
        FINAL_STATUSES,
        CancelRequest,
        CancelResult,
        EmailSent,
        ExtendHold,
        HoldExpiryChange,
        HoldExtended,
        OrderProgress,
        OrderRef,
        PayInput,
        PaymentSucceeded,
        PayRequest,
        PayResult,
        PurchaseInput,
        RefundInput,
        RefundResult,
        ReleaseInput,
        ReleaseResult,
        ResendInput,
        ResendRequest,
        ReservationAnswer,
        ReserveInput,
        ReserveResult,
        SettleInput,
        StatusChange,
        StrayPayment,
        StrayPaymentResult,
        SupportAction,
    )
    from boxoffice.orders.workflow import activity_options as options

#: Errors that are the buyer's answer (a declined card), not an outage. TicketCapReached: the
#: payment would take the buyer past the per-event cap (raised before any money moves).
_DECLINES = ("CardDeclined", "PaymentMethodInvalid", "TicketCapReached")
_FULFILMENT_STEPS = ("issue_tickets", "store_tickets_pdf", "email_tickets")


@workflow.defn
class PurchaseWorkflow:
    @workflow.init
    def __init__(self, order: PurchaseInput) -> None:
        self._order = order
        self._config = order.config
        self._status = "pending"
        self._step = "reserve"
        self._reservation: ReserveResult | None = None
        self._answer: ReservationAnswer | None = None
        self._last_error: str | None = None
        self._attempts = 0
        self._payment_lock = asyncio.Lock()
        self._payment_in_flight = False
        # Attempt whose PaymentIntent awaits 3-D Secure; decided at expiry or by the webhook.
        self._open_attempt: int | None = None
        # Stripe's webhook said a PaymentIntent succeeded; the run reads the intent itself.
        self._payment_news = False
        # Every PaymentIntent the webhook named, in arrival order, and how many were looked at:
        # once the hold is decided, any this order does not keep is refunded.
        self._news_intents: list[str] = []
        self._news_handled = 0
        self._refunds_strays = False
        self._paid = False
        self._kept_intent: str | None = None
        # Once the hold's end (or a cancel) is being decided, no new payment starts.
        self._closing = False
        self._cancel: CancelRequest | None = None
        self._cancel_result: CancelResult | None = None
        self._cancel_refusal: str | None = None
        self._retry: SupportAction | None = None
        # The hold's end; support may move it later (extend_hold), which wakes the hold loop.
        self._hold_expires_at: datetime | None = None
        self._hold_extended_by = timedelta(0)
        # The hold starts short (config.first_hold_seconds) and gets its whole length once a
        # card is tried: seats held by someone who never pays come back sooner.
        self._hold_started: datetime | None = None
        self._hold_lengthened = False
        self._resends = 0

    # --- the order's life ----------------------------------------------------------------

    @workflow.run
    async def run(self, order: PurchaseInput) -> str:
        # Runs started before stray payments were refunded replay without it.
        self._refunds_strays = workflow.patched("refund-stray-payments")
        workflow.upsert_search_attributes(
            [sa.EVENT_ID.value_set(order.event_id), sa.ORDER_STATUS.value_set("pending")]
        )
        if await self._reserve() and await self._hold() and not await self._cancel_if_asked():
            await self._fulfil()
            if self._status == "completed":
                await self._stay_open_for_refunds()
        await workflow.wait_condition(workflow.all_handlers_finished)
        while self._stray_news():
            # A message may arrive while a refund runs: the run still ends with none unhandled.
            await self._refund_stray_payments()
            await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status

    async def _reserve(self) -> bool:
        self._hold_started = workflow.now()
        hold_ends = self._hold_started + timedelta(seconds=self._first_hold_seconds())
        try:
            result: ReserveResult = await workflow.execute_local_activity(
                "reserve_seats",
                ReserveInput(
                    order_id=self._order.order_id,
                    event_id=self._order.event_id,
                    items=self._order.items,
                    buyer=self._order.buyer,
                    hold_expires_at=hold_ends,
                    request_fingerprint=self._order.request_fingerprint,
                ),
                result_type=ReserveResult,
                **options.reserve(self._config),
            )
        except FailureError as failure:
            # A local activity's own error may arrive unwrapped (not as an ActivityError).
            await self._reject(failure)
            return False
        self._reservation = result
        # Set here, not when the hold loop starts: a charge at creation may be extended.
        self._hold_expires_at = result.hold_expires_at
        self._set_status("reserved" if result.reserved else "sold_out")
        self._answer = ReservationAnswer(
            order_id=self._order.order_id,
            status=self._status,
            hold_expires_at=result.hold_expires_at,
            total_amount=result.total_amount,
            currency=result.currency,
            reason=result.reason,
        )
        if result.reserved and self._order.payment_method:
            await self._attempt_payment(self._order.payment_method)
        return result.reserved

    async def _reject(self, failure: FailureError) -> None:
        """The reservation failed for good: answer the caller with why, and give back any seats
        an attempt may have taken before its answer was lost (a no-op when none were)."""
        cause = _innermost(failure)
        self._last_error = cause.message
        self._answer = ReservationAnswer(
            order_id=self._order.order_id,
            status="rejected",
            reason=self._last_error,
            error_type=cause.type if isinstance(cause, ApplicationError) else None,
        )
        self._set_status("rejected")
        await workflow.execute_activity(
            "release_seats",
            ReleaseInput(self._order.order_id, "cancelled", self._last_error),
            result_type=ReleaseResult,
            **options.inventory(self._config),
        )

    async def _hold(self) -> bool:
        """Wait for payment, a cancel, or the hold's end. True when the order is paid."""
        self._step = "hold"
        assert self._hold_expires_at is not None
        while not self._paid and self._cancel is None:
            deadline = self._hold_expires_at
            remaining = (deadline - workflow.now()).total_seconds()
            if remaining <= 0:
                break
            try:
                await workflow.wait_condition(
                    # Awaited within this iteration, so `deadline` is this iteration's value.
                    lambda: (
                        self._paid
                        or self._cancel is not None
                        or self._payment_news
                        or self._hold_expires_at != deadline  # noqa: B023 (extended: re-arm)
                    ),
                    timeout=timedelta(seconds=remaining),
                )
            except TimeoutError:
                if self._hold_expires_at == deadline:
                    break
            if self._payment_news:
                await self._settle_payment_news()
        # The hold ends (or the buyer cancels): refuse new payments, let one in flight finish.
        self._closing = True
        await workflow.wait_condition(lambda: not self._payment_in_flight)
        if not self._paid and self._open_attempt is not None:
            await self._settle(self._open_attempt, cancel_if_unpaid=True)
        if self._paid:
            return True
        final = "cancelled" if self._cancel is not None else "expired"
        await self._release(final, None)
        if self._cancel is not None:
            self._cancel_result = CancelResult(status=final)
        return False

    async def _cancel_if_asked(self) -> bool:
        """A cancel that arrived while a payment succeeded becomes a refund."""
        return self._cancel is not None and await self._refund()

    async def _fulfil(self) -> None:
        for step in _FULFILMENT_STEPS:
            while True:
                self._step = step
                if self._cancel is not None and await self._refund():
                    return
                try:
                    await workflow.execute_activity(
                        step, OrderRef(self._order.order_id), **options.fulfilment(self._config)
                    )
                    break
                except ActivityError as failure:
                    await self._needs_attention(f"{step}: {_cause_message(failure)}")
                    # Wait for support's retry; a cancel refunds, and a refused cancel (a
                    # ticket used at the gate) leaves the order waiting, the step not re-run.
                    while self._retry is None:
                        await workflow.wait_condition(
                            lambda: (
                                self._retry is not None
                                or self._cancel is not None
                                or self._stray_news()
                            )
                        )
                        await self._refund_stray_payments()
                        if self._cancel is not None and await self._refund():
                            return
                    self._retry = None
                    self._last_error = None
                    self._set_status("paid")
                    if workflow.patched("clear-needs-attention-since"):
                        workflow.upsert_search_attributes([sa.NEEDS_ATTENTION_SINCE.value_unset()])
        self._step = "done"
        self._set_status("completed")

    async def _stay_open_for_refunds(self) -> None:
        """Completed orders stay open until the event is over, so refunds reach this run."""
        reservation = self._require_reservation()
        assert reservation.event_starts_at is not None
        close_at = reservation.event_starts_at + timedelta(seconds=self._config.order_grace_seconds)
        while True:
            remaining = (close_at - workflow.now()).total_seconds()
            if remaining <= 0:
                return
            try:
                await workflow.wait_condition(
                    lambda: self._cancel is not None or self._stray_news(),
                    timeout=timedelta(seconds=remaining),
                )
            except TimeoutError:
                return
            await self._refund_stray_payments()
            if self._cancel is not None and await self._refund():
                return

    # --- payments ------------------------------------------------------------------------

    async def _attempt_payment(self, payment_method: str) -> PayResult:
        """One attempt at a time; the previous open PaymentIntent is decided first."""
        async with self._payment_lock:
            if self._paid:
                return PayResult(status="succeeded")
            if self._closing:
                raise ApplicationError("The hold has ended.", type="InvalidState")
            # Checked again here: two attempts may have passed the validator together.
            self._refuse_if_out_of_attempts()
            self._payment_in_flight = True
            try:
                if self._open_attempt is not None:
                    previous = await self._settle(self._open_attempt, cancel_if_unpaid=True)
                    if previous.status == "succeeded":
                        return previous
                return await self._charge(payment_method)
            finally:
                self._payment_in_flight = False

    async def _charge(self, payment_method: str) -> PayResult:
        reservation = self._require_reservation()
        self._attempts += 1
        attempt = self._attempts
        self._set_status("paying")
        try:
            result: PayResult = await workflow.execute_activity(
                "charge_payment",
                PayInput(
                    order_id=self._order.order_id,
                    attempt=attempt,
                    amount=reservation.total_amount,
                    currency=reservation.currency,
                    payment_method=payment_method,
                    buyer_email=self._order.buyer.email,
                ),
                result_type=PayResult,
                **options.charge(self._config),
            )
        except ActivityError as failure:
            cause = failure.cause
            if isinstance(cause, ApplicationError) and cause.type in _DECLINES:
                self._last_error = cause.message
                self._set_status("reserved")
                if cause.type == "CardDeclined":  # a real card: let the buyer try another
                    await self._lengthen_first_hold()
                return PayResult(status="declined", decline_reason=cause.message)
            # Stripe stayed unreachable for the whole payment timeout: the charge may or may
            # not have gone through. Decide it (cancelling it if it did not) before answering.
            return await self._settle(attempt, cancel_if_unpaid=True)
        if result.status == "succeeded":
            self._mark_paid(result.payment_intent_id)
        else:
            self._open_attempt = attempt
            await self._lengthen_first_hold()  # 3-D Secure takes the buyer a while
        return result

    def _first_hold_seconds(self) -> int:
        first = self._config.first_hold_seconds
        return min(first, self._config.hold_seconds) if first else self._config.hold_seconds

    async def _lengthen_first_hold(self) -> None:
        """A card was tried: the hold gets its whole length (plus what support added)."""
        if self._hold_lengthened or self._closing or not self._config.first_hold_seconds:
            return
        self._hold_lengthened = True
        assert self._hold_started is not None and self._hold_expires_at is not None
        whole = (
            self._hold_started
            + timedelta(seconds=self._config.hold_seconds)
            + self._hold_extended_by
        )
        if whole <= self._hold_expires_at:
            return
        self._hold_expires_at = whole
        await workflow.execute_activity(
            "record_hold_expiry",
            HoldExpiryChange(self._order.order_id, whole),
            **options.inventory(self._config),
        )

    def _refuse_if_out_of_attempts(self) -> None:
        limit = self._config.max_payment_attempts
        if limit and self._attempts >= limit:
            ends = self._hold_expires_at.isoformat() if self._hold_expires_at else "its end"
            raise ApplicationError(
                f"This order has had {self._attempts} payment attempts, the most one order may "
                f"make. Its seats stay held until {ends}; cancel it to order again.",
                type="TooManyPaymentAttempts",
            )

    async def _settle(self, attempt: int, *, cancel_if_unpaid: bool) -> PayResult:
        result: PayResult = await workflow.execute_activity(
            "settle_payment",
            SettleInput(self._order.order_id, attempt, cancel_if_unpaid),
            result_type=PayResult,
            **options.settle(self._config),
        )
        if result.status == "succeeded":
            self._mark_paid(result.payment_intent_id)
        elif result.status == "declined":
            self._open_attempt = None
            self._last_error = result.decline_reason
            if not self._paid:
                self._set_status("reserved")
        return result

    async def _settle_payment_news(self) -> None:
        """Stripe says a PaymentIntent succeeded (3-D Secure done): read it and record it."""
        self._payment_news = False
        if self._open_attempt is not None and not self._paid:
            async with self._payment_lock:
                if self._open_attempt is not None and not self._paid:
                    await self._settle(self._open_attempt, cancel_if_unpaid=False)

    def _mark_paid(self, payment_intent_id: str | None) -> None:
        self._paid = True
        self._kept_intent = payment_intent_id
        self._open_attempt = None
        self._last_error = None
        self._set_status("paid")

    def _stray_news(self) -> bool:
        return self._refunds_strays and self._news_handled < len(self._news_intents)

    async def _refund_stray_payments(self) -> None:
        """Refund each reported payment this order does not keep: an earlier attempt that
        succeeded after it was given up, or money that came once the hold had ended. Called
        only once the hold is decided, so the kept PaymentIntent is known; the activity checks
        the order's records again before refunding anything."""
        while self._stray_news():
            intent_id = self._news_intents[self._news_handled]
            self._news_handled += 1
            if intent_id == self._kept_intent:
                continue
            await workflow.execute_activity(
                "refund_stray_payment",
                StrayPayment(self._order.order_id, intent_id),
                result_type=StrayPaymentResult,
                **options.settle(self._config),
            )

    # --- compensation --------------------------------------------------------------------

    async def _refund(self) -> bool:
        """Void the tickets, refund the payment, release the seats. False when refused (a
        ticket was already used at the gate); the order then stays as it was."""
        assert self._cancel is not None
        previous_step = self._step
        self._step = "refund"
        try:
            await workflow.execute_activity(
                "void_tickets", OrderRef(self._order.order_id), **options.void(self._config)
            )
        except ActivityError as failure:
            self._cancel_refusal = _cause_message(failure)
            self._cancel = None
            self._step = previous_step
            return False
        await workflow.execute_activity(
            "refund_payment",
            RefundInput(self._order.order_id, self._cancel.reason),
            result_type=RefundResult,
            **options.settle(self._config),
        )
        await self._release("refunded", None)
        self._cancel_result = CancelResult(status="refunded")
        return True

    async def _release(self, final_status: str, reason: str | None) -> None:
        self._step = "release"
        await workflow.execute_activity(
            "release_seats",
            ReleaseInput(self._order.order_id, final_status, reason),
            result_type=ReleaseResult,
            **options.inventory(self._config),
        )
        self._step = "done"
        self._set_status(final_status)

    async def _needs_attention(self, error: str) -> None:
        self._last_error = error
        self._set_status("needs_attention")
        workflow.upsert_search_attributes([sa.NEEDS_ATTENTION_SINCE.value_set(workflow.now())])
        await workflow.execute_activity(
            "record_status",
            StatusChange(self._order.order_id, "needs_attention", error),
            **options.inventory(self._config),
        )

    # --- messages ------------------------------------------------------------------------

    @workflow.update(name="reservation")
    async def reservation(self) -> ReservationAnswer:
        """The create call's answer: seats held until a time, or sold out."""
        await workflow.wait_condition(lambda: self._answer is not None)
        assert self._answer is not None
        return self._answer

    @workflow.update
    async def pay(self, request: PayRequest) -> PayResult:
        return await self._attempt_payment(request.payment_method)

    @pay.validator
    def _validate_pay(self, request: PayRequest) -> None:
        if self._paid:
            raise ApplicationError("This order is already paid.", type="InvalidState")
        if self._status not in ("reserved", "paying") or self._closing:
            raise ApplicationError(
                f"This order is {self._status}; it can no longer be paid.", type="InvalidState"
            )
        self._refuse_if_out_of_attempts()

    @workflow.update
    async def cancel(self, request: CancelRequest) -> CancelResult:
        return await self._cancel_and_wait(request)

    async def _cancel_and_wait(self, request: CancelRequest) -> CancelResult:
        """Ask the run to cancel (or refund) and wait for the outcome. A second cancel while one
        is under way joins it: compensation runs once."""
        if self._cancel is None:
            self._cancel = request
            self._cancel_refusal = None
        await workflow.wait_condition(
            lambda: self._cancel_result is not None or self._cancel_refusal is not None
        )
        if self._cancel_result is None:
            raise ApplicationError(
                f"This order cannot be cancelled: {self._cancel_refusal}", type="InvalidState"
            )
        return self._cancel_result

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self._status in FINAL_STATUSES or self._status == "pending":
            raise ApplicationError(f"This order is {self._status}.", type="InvalidState")
        reservation = self._reservation
        if (
            self._paid
            and request.actor == "buyer"
            and reservation is not None
            and reservation.refund_deadline is not None
            and workflow.now() >= reservation.refund_deadline
        ):
            raise ApplicationError(
                "The refund period for this event ended at "
                f"{reservation.refund_deadline.isoformat()}.",
                type="RefundPeriodOver",
            )

    @workflow.update
    async def support_cancel(self, action: SupportAction) -> CancelResult:
        """Support cancels any open order: seats back; when paid, refund and void tickets. No
        refund deadline applies."""
        return await self._cancel_and_wait(CancelRequest(reason=action.reason, actor=action.actor))

    @support_cancel.validator
    def _validate_support_cancel(self, action: SupportAction) -> None:
        _require_reason(action.reason)
        if self._status in FINAL_STATUSES or self._status == "pending":
            raise ApplicationError(f"This order is {self._status}.", type="InvalidState")

    @workflow.update
    async def refund(self, action: SupportAction) -> CancelResult:
        """A completed order refunded through the same compensation as a cancel."""
        return await self._cancel_and_wait(CancelRequest(reason=action.reason, actor=action.actor))

    @refund.validator
    def _validate_refund(self, action: SupportAction) -> None:
        _require_reason(action.reason)
        if self._status != "completed":
            raise ApplicationError(
                f"Only a completed order can be refunded; this one is {self._status}.",
                type="InvalidState",
            )
        starts_at = self._require_reservation().event_starts_at
        if starts_at is not None and workflow.now() >= starts_at:
            raise ApplicationError("The event has already started.", type="InvalidState")

    @workflow.update
    async def extend_hold(self, request: ExtendHold) -> HoldExtended:
        """Lengthen the hold (a buyer on the phone with support), within the configured bound."""
        assert self._hold_expires_at is not None
        self._hold_expires_at += timedelta(minutes=request.minutes)
        self._hold_extended_by += timedelta(minutes=request.minutes)
        await workflow.execute_activity(
            "record_hold_expiry",
            HoldExpiryChange(self._order.order_id, self._hold_expires_at),
            **options.inventory(self._config),
        )
        return HoldExtended(hold_expires_at=self._hold_expires_at)

    @extend_hold.validator
    def _validate_extend_hold(self, request: ExtendHold) -> None:
        _require_reason(request.reason)
        if self._status not in ("reserved", "paying") or self._closing:
            raise ApplicationError(
                f"Only a held order can be extended; this one is {self._status}.",
                type="InvalidState",
            )
        limit = timedelta(seconds=self._config.max_hold_extension_seconds)
        asked = timedelta(minutes=request.minutes)
        if request.minutes < 1 or self._hold_extended_by + asked > limit:
            raise ApplicationError(
                f"A hold may be extended by {int(limit.total_seconds() // 60)} minutes in all "
                f"({int(self._hold_extended_by.total_seconds() // 60)} used so far).",
                type="InvalidRequest",
            )

    @workflow.update
    async def resend(self, request: ResendRequest) -> EmailSent:
        """Send the tickets again: a new message with its own Message-ID."""
        self._resends += 1
        sent: EmailSent = await workflow.execute_activity(
            "resend_tickets_email",
            ResendInput(self._order.order_id, self._resends, request.to),
            result_type=EmailSent,
            **options.fulfilment(self._config),
        )
        return sent

    @resend.validator
    def _validate_resend(self, request: ResendRequest) -> None:
        _require_reason(request.reason)
        if self._status != "completed":
            raise ApplicationError(
                f"Tickets are sent for completed orders; this one is {self._status}.",
                type="InvalidState",
            )

    @workflow.update
    async def support_retry(self, action: SupportAction) -> str:
        """Support asks a failed step to run again; the order continues from that step."""
        self._retry = action
        # Also done when the order ended meanwhile, so no handler is left waiting for ever.
        await workflow.wait_condition(lambda: self._retry is None or self._status in FINAL_STATUSES)
        return self._status

    @support_retry.validator
    def _validate_support_retry(self, action: SupportAction) -> None:
        if self._status != "needs_attention":
            raise ApplicationError(
                f"Only an order that needs attention can be retried; this one is {self._status}.",
                type="InvalidState",
            )
        if self._cancel is not None:
            raise ApplicationError(
                "A cancel of this order is under way; it cannot be retried.",
                type="InvalidState",
            )
        if not action.reason.strip():
            raise ApplicationError("A reason is required.", type="InvalidRequest")

    @workflow.signal
    def payment_succeeded(self, news: PaymentSucceeded) -> None:
        """Fire-and-forget news from the Stripe webhook; the run reads the intent itself."""
        self._payment_news = True
        if news.payment_intent_id not in self._news_intents:
            self._news_intents.append(news.payment_intent_id)

    @workflow.query
    def status(self) -> OrderProgress:
        return OrderProgress(
            status=self._status,
            step=self._step,
            hold_expires_at=self._hold_expires_at,
            payment_attempts=self._attempts,
            last_error=self._last_error,
        )

    # --- helpers -------------------------------------------------------------------------

    def _set_status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            workflow.upsert_search_attributes([sa.ORDER_STATUS.value_set(status)])

    def _require_reservation(self) -> ReserveResult:
        assert self._reservation is not None, "reserve runs first"
        return self._reservation


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise ApplicationError("A reason is required.", type="InvalidRequest")


def _innermost(failure: FailureError) -> FailureError:
    """The failure that says what actually went wrong: the first ApplicationError in the chain,
    else the last failure (e.g. a timeout)."""
    found = failure
    while not isinstance(found, ApplicationError) and isinstance(found.cause, FailureError):
        found = found.cause
    return found


def _cause_message(failure: ActivityError) -> str:
    return _innermost(failure).message
