"""RefundLatePayment: money Stripe took for an order whose run has closed goes back.

An order's run stays open until its event is over, so this is for the rare payment that
succeeds after that, or after an expired or cancelled order's run ended (a PaymentIntent that was
still processing when the hold was given up). The workflow id is derived from the PaymentIntent,
so however often Stripe reports the payment it is looked at once."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from boxoffice.orders.activities.refunds import RefundActivities
    from boxoffice.orders.messages import LatePayment, StrayPayment
    from boxoffice.orders.workflow import activity_options as options


def late_payment_workflow_id(payment_intent_id: str) -> str:
    return f"late-payment-{payment_intent_id}"


@workflow.defn
class RefundLatePayment:
    @workflow.run
    async def run(self, late: LatePayment) -> str:
        """The outcome of `refund_stray_payment`: `refunded`, or why nothing was refunded."""
        result = await workflow.execute_activity_method(
            RefundActivities.refund_stray_payment,
            StrayPayment(late.order_id, late.payment_intent_id),
            **options.settle(late.config),
        )
        return result.outcome
