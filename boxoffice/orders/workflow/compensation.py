"""Undoing an order: a cancel during the hold gives the seats back; after payment the tickets
are voided, the payment refunded and the seats given back, once, however often it is asked."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from boxoffice.orders.activities.refunds import RefundActivities
    from boxoffice.orders.activities.tickets import TicketActivities
    from boxoffice.orders.domain import OrderStatus
    from boxoffice.orders.messages import CancelRequest, CancelResult, OrderRef, RefundInput
    from boxoffice.orders.workflow import activity_options as options
    from boxoffice.orders.workflow.payment import PaymentSteps


class CompensationSteps(PaymentSteps):
    async def _cancel_if_asked(self) -> bool:
        """A cancel that arrived while a payment succeeded becomes a refund."""
        return self._cancel.request is not None and await self._refund()

    async def _refund(self) -> bool:
        """Void the tickets, refund the payment, release the seats. False when refused (a
        ticket was already used at the gate); the order then stays as it was."""
        cancel = self._cancel
        assert cancel.request is not None
        previous_step = self._step
        self._step = "refund"
        try:
            await workflow.execute_activity_method(
                TicketActivities.void_tickets,
                OrderRef(self._order.order_id),
                **options.void(self._config),
            )
        except ActivityError as failure:
            cancel.refusal = cause_message(failure)
            cancel.request = None
            self._step = previous_step
            return False
        refund = RefundInput(self._order.order_id, cancel.request.reason)
        if workflow.patched("refund-refused-needs-attention"):
            try:
                await workflow.execute_activity_method(
                    RefundActivities.refund_payment, refund, **options.settle(self._config)
                )
            except ActivityError as failure:
                # Stripe refused (retrying cannot help): the tickets are void, the money is not
                # back; support sorts it out and cancels again.
                cancel.refusal = f"refund_payment: {cause_message(failure)}"
                cancel.request = None
                cancel.refund_refused = True
                self._step = previous_step
                await self._needs_attention(cancel.refusal)
                return False
        else:
            await workflow.execute_activity_method(
                RefundActivities.refund_payment, refund, **options.settle(self._config)
            )
        cancel.refund_refused = False
        await self._release(OrderStatus.REFUNDED, None)
        cancel.result = CancelResult(status=OrderStatus.REFUNDED)
        return True

    async def _cancel_and_wait(self, request: CancelRequest) -> CancelResult:
        """Ask the run to cancel (or refund) and wait for the outcome. A second cancel while one
        is under way joins it: compensation runs once."""
        cancel = self._cancel
        if cancel.request is None:
            cancel.request = request
            cancel.refusal = None
        await workflow.wait_condition(
            lambda: cancel.result is not None or cancel.refusal is not None
        )
        if cancel.result is None:
            raise ApplicationError(
                f"This order cannot be cancelled: {cancel.refusal}", type="InvalidState"
            )
        return cancel.result


def innermost(failure: FailureError) -> FailureError:
    """The failure that says what actually went wrong: the first ApplicationError in the chain,
    else the last failure (e.g. a timeout)."""
    found = failure
    while not isinstance(found, ApplicationError) and isinstance(found.cause, FailureError):
        found = found.cause
    return found


def cause_message(failure: ActivityError) -> str:
    return innermost(failure).message
