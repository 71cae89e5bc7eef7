"""The naive purchase: reserve, charge, issue, store, email, one regular activity each with
the SDK's default retry policy, awaited in turn, as the samples' money-transfer workflow does."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.naive.activities import NaiveActivities
    from bench.naive.messages import Charge, Purchase

_STEP = timedelta(seconds=60)


@workflow.defn
class NaivePurchaseWorkflow:
    @workflow.run
    async def run(self, purchase: Purchase) -> str:
        reserved = await workflow.execute_activity_method(
            NaiveActivities.reserve, purchase, start_to_close_timeout=_STEP
        )
        await workflow.execute_activity_method(
            NaiveActivities.charge,
            Charge(
                order_id=purchase.order_id,
                amount=reserved.unit_price * reserved.quantity,
                currency=reserved.currency,
                payment_method=purchase.payment_method,
            ),
            start_to_close_timeout=_STEP,
        )
        tickets = await workflow.execute_activity_method(
            NaiveActivities.issue_tickets, reserved, start_to_close_timeout=_STEP
        )
        stored = await workflow.execute_activity_method(
            NaiveActivities.store_pdf, tickets, start_to_close_timeout=_STEP
        )
        await workflow.execute_activity_method(
            NaiveActivities.email_tickets, stored, start_to_close_timeout=_STEP
        )
        return "completed"
