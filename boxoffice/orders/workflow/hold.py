"""Taking the seats and holding them: the reservation (the create call's answer), then waiting
for a payment, a cancel or the hold's end, whichever comes first."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from boxoffice.orders.activities.inventory import InventoryActivities
    from boxoffice.orders.domain import OrderStatus
    from boxoffice.orders.messages import (
        CancelResult,
        ReleaseInput,
        ReservationAnswer,
        ReserveInput,
    )
    from boxoffice.orders.workflow import activity_options as options
    from boxoffice.orders.workflow.compensation import CompensationSteps, innermost


class HoldSteps(CompensationSteps):
    async def _reserve(self) -> bool:
        """Take the seats (a local activity: the buyer waits for this answer); pay at once when
        the create came with a payment method. True when the seats are held."""
        hold = self._holding
        hold.started = workflow.now()
        hold_ends = hold.started + timedelta(seconds=self._first_hold_seconds())
        # Runs from before retried five times only (their histories replay that way).
        patient = workflow.patched("reserve-until-hold-ends")
        try:
            result = await workflow.execute_local_activity_method(
                InventoryActivities.reserve_seats,
                ReserveInput(
                    order_id=self._order.order_id,
                    event_id=self._order.event_id,
                    items=self._order.items,
                    buyer=self._order.buyer,
                    hold_expires_at=hold_ends,
                    request_fingerprint=self._order.request_fingerprint,
                    addons=self._order.addons,
                ),
                **(
                    options.reserve_until_hold_ends(self._config)
                    if patient
                    else options.reserve(self._config)
                ),
            )
        except FailureError as failure:
            # A local activity's own error may arrive unwrapped (not as an ActivityError).
            await self._reject(failure)
            return False
        self._reservation = result
        if self._move is not None and result.reserved:
            # The event moved while the seats were being taken: the move's dates win.
            result.event_starts_at = self._move.starts_at
            result.refund_deadline = self._move.refund_deadline
        # Set here, not when the hold loop starts: a charge at creation may be extended.
        hold.expires_at = result.hold_expires_at
        self._set_status(OrderStatus.RESERVED if result.reserved else OrderStatus.SOLD_OUT)
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
        cause = innermost(failure)
        self._last_error = cause.message
        self._answer = ReservationAnswer(
            order_id=self._order.order_id,
            status=OrderStatus.REJECTED,
            reason=self._last_error,
            error_type=cause.type if isinstance(cause, ApplicationError) else None,
        )
        self._set_status(OrderStatus.REJECTED)
        await workflow.execute_activity_method(
            InventoryActivities.release_seats,
            ReleaseInput(self._order.order_id, OrderStatus.CANCELLED, self._last_error),
            **options.inventory(self._config),
        )

    async def _hold(self) -> bool:
        """Wait for payment, a cancel, or the hold's end. True when the order is paid."""
        self._step = "hold"
        hold, payment, cancel = self._holding, self._payment, self._cancel
        assert hold.expires_at is not None
        while not payment.paid and cancel.request is None:
            deadline = hold.expires_at
            remaining = (deadline - workflow.now()).total_seconds()
            if remaining <= 0:
                break
            try:
                await workflow.wait_condition(
                    # Awaited within this iteration, so `deadline` is this iteration's value.
                    lambda: (
                        payment.paid
                        or cancel.request is not None
                        or payment.news
                        or hold.expires_at != deadline  # noqa: B023 (extended: re-arm)
                    ),
                    timeout=timedelta(seconds=remaining),
                )
            except TimeoutError:
                if hold.expires_at == deadline:
                    break
            if payment.news:
                await self._settle_payment_news()
        # The hold ends (or the buyer cancels): refuse new payments, let one in flight finish.
        hold.closing = True
        await workflow.wait_condition(lambda: not payment.in_flight)
        if not payment.paid and payment.open_attempt is not None:
            await self._settle(payment.open_attempt, cancel_if_unpaid=True)
        if payment.paid:
            return True
        final = OrderStatus.CANCELLED if cancel.request is not None else OrderStatus.EXPIRED
        await self._release(final, None)
        if cancel.request is not None:
            cancel.result = CancelResult(status=final)
        return False
