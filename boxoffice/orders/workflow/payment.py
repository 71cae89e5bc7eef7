"""Paying for the held seats: one attempt at a time, each decided before the next, and every
payment the order does not keep given back."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from boxoffice.orders.activities.payments import PaymentActivities
    from boxoffice.orders.activities.refunds import RefundActivities
    from boxoffice.orders.domain import OrderStatus
    from boxoffice.orders.messages import PayInput, PayResult, SettleInput, StrayPayment
    from boxoffice.orders.workflow import activity_options as options
    from boxoffice.orders.workflow.state import OrderRun

#: Errors that are the buyer's answer (a declined card), not an outage. TicketCapReached: the
#: payment would take the buyer past the per-event cap (raised before any money moves).
DECLINES = ("CardDeclined", "PaymentMethodInvalid", "TicketCapReached")


class PaymentSteps(OrderRun):
    async def _attempt_payment(self, payment_method: str) -> PayResult:
        """One attempt at a time; the previous open PaymentIntent is decided first."""
        payment = self._payment
        async with payment.lock:
            if payment.paid:
                return PayResult(status="succeeded")
            if self._holding.closing:
                raise ApplicationError("The hold has ended.", type="InvalidState")
            # Checked again here: two attempts may have passed the validator together.
            self._refuse_if_out_of_attempts()
            payment.in_flight = True
            try:
                if payment.open_attempt is not None:
                    previous = await self._settle(payment.open_attempt, cancel_if_unpaid=True)
                    if previous.status == "succeeded":
                        return previous
                return await self._charge(payment_method)
            finally:
                payment.in_flight = False

    async def _charge(self, payment_method: str) -> PayResult:
        reservation = self._require_reservation()
        self._payment.attempts += 1
        attempt = self._payment.attempts
        self._set_status(OrderStatus.PAYING)
        try:
            result = await workflow.execute_activity_method(
                PaymentActivities.charge_payment,
                PayInput(
                    order_id=self._order.order_id,
                    attempt=attempt,
                    amount=reservation.total_amount,
                    currency=reservation.currency,
                    payment_method=payment_method,
                    buyer_email=self._order.buyer.email,
                ),
                **options.charge(self._config),
            )
        except ActivityError as failure:
            cause = failure.cause
            if isinstance(cause, ApplicationError) and cause.type in DECLINES:
                self._last_error = cause.message
                self._set_status(OrderStatus.RESERVED)
                if cause.type == "CardDeclined":  # a real card: let the buyer try another
                    await self._lengthen_first_hold()
                return PayResult(status="declined", decline_reason=cause.message)
            # Stripe stayed unreachable for the whole payment timeout: the charge may or may
            # not have gone through. Decide it (cancelling it if it did not) before answering.
            return await self._settle(attempt, cancel_if_unpaid=True)
        if result.status == "succeeded":
            self._mark_paid(result.payment_intent_id)
        else:
            self._payment.open_attempt = attempt
            await self._lengthen_first_hold()  # 3-D Secure takes the buyer a while
        return result

    def _refuse_if_out_of_attempts(self) -> None:
        limit = self._config.max_payment_attempts
        attempts = self._payment.attempts
        if limit and attempts >= limit:
            expires_at = self._holding.expires_at
            ends = expires_at.isoformat() if expires_at else "its end"
            raise ApplicationError(
                f"This order has had {attempts} payment attempts, the most one order may "
                f"make. Its seats stay held until {ends}; cancel it to order again.",
                type="TooManyPaymentAttempts",
            )

    async def _settle(self, attempt: int, *, cancel_if_unpaid: bool) -> PayResult:
        result = await workflow.execute_activity_method(
            PaymentActivities.settle_payment,
            SettleInput(self._order.order_id, attempt, cancel_if_unpaid),
            **options.settle(self._config),
        )
        if result.status == "succeeded":
            self._mark_paid(result.payment_intent_id)
        elif result.status == "declined":
            self._payment.open_attempt = None
            self._last_error = result.decline_reason
            if not self._payment.paid:
                self._set_status(OrderStatus.RESERVED)
        return result

    async def _settle_payment_news(self) -> None:
        """Stripe says a PaymentIntent succeeded (3-D Secure done): read it and record it."""
        payment = self._payment
        payment.news = False
        if payment.open_attempt is not None and not payment.paid:
            async with payment.lock:
                if payment.open_attempt is not None and not payment.paid:
                    await self._settle(payment.open_attempt, cancel_if_unpaid=False)

    def _mark_paid(self, payment_intent_id: str | None) -> None:
        self._payment.paid = True
        self._payment.kept_intent = payment_intent_id
        self._payment.open_attempt = None
        self._last_error = None
        self._set_status(OrderStatus.PAID)

    def _stray_news(self) -> bool:
        payment = self._payment
        return payment.refunds_strays and payment.news_handled < len(payment.news_intents)

    async def _refund_stray_payments(self) -> None:
        """Refund each reported payment this order does not keep: an earlier attempt that
        succeeded after it was given up, or money that came once the hold had ended. Called
        only once the hold is decided, so the kept PaymentIntent is known; the activity checks
        the order's records again before refunding anything."""
        payment = self._payment
        while self._stray_news():
            intent_id = payment.news_intents[payment.news_handled]
            payment.news_handled += 1
            if intent_id == payment.kept_intent:
                continue
            await workflow.execute_activity_method(
                RefundActivities.refund_stray_payment,
                StrayPayment(self._order.order_id, intent_id),
                **options.settle(self._config),
            )
