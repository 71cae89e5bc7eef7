"""ReconciliationWorkflow on the time-skipping server, its activities faked: the schedule's run
(no period given) checks the previous UTC day by the workflow's clock, reports, and with `fix`
hands each stray payment to RefundLatePayment once; a second run finds that run already there.
Each run hands its mismatches, as fixed, to `record_mismatches` (a log line and a metric each).

The histories of runs from before `record_mismatches` (reconciliation_stray_refunded,
reconciliation_refund_already_started) stay as they were recorded; these runs record theirs
under new names (`*_recorded`)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boxoffice.orders.messages import StrayPayment, StrayPaymentResult
from boxoffice.orders.reconciliation.messages import (
    BookPayment,
    Books,
    BooksRequest,
    LookUp,
    MismatchesFound,
    MismatchKind,
    Period,
    ReconcileInput,
    Report,
    StripeIntent,
    StripeView,
)
from boxoffice.orders.reconciliation.rules import previous_day
from boxoffice.orders.reconciliation.workflow import ReconciliationWorkflow
from boxoffice.orders.workflow.late_payment import RefundLatePayment

from .harness import save_history, short_config


class FakeStripeAndBooks:
    """Stripe shows a stray payment for an expired order and a payment we keep; our books
    also hold a payment Stripe does not have."""

    def __init__(self) -> None:
        self.periods: list[Period] = []
        self.books_asked: list[BooksRequest] = []
        self.looked_up: list[LookUp] = []
        self.refunded: list[str] = []
        self.recorded: list[MismatchesFound] = []

    @activity.defn(name="list_stripe_period")
    async def list_stripe_period(self, period: Period) -> StripeView:
        self.periods.append(period)
        at = period.since + 60
        return StripeView(
            [
                StripeIntent("pi_stray", "succeeded", 4500, "EUR", at, "o_expired"),
                StripeIntent("pi_kept", "succeeded", 3000, "EUR", at, "o_done"),
            ]
        )

    @activity.defn(name="read_books")
    async def read_books(self, request: BooksRequest) -> Books:
        self.books_asked.append(request)
        return Books(
            {"o_expired": "expired", "o_done": "completed", "o_paid": "paid"},
            [
                BookPayment("o_done", "pi_kept", 3000, "succeeded"),
                BookPayment("o_paid", "pi_gone", 2000, "succeeded"),
            ],
            in_period_payments=["pi_gone", "pi_kept"],
        )

    @activity.defn(name="look_up_at_stripe")
    async def look_up_at_stripe(self, wanted: LookUp) -> StripeView:
        self.looked_up.append(wanted)
        return StripeView(missing=list(wanted.intent_ids))

    @activity.defn(name="record_mismatches")
    async def record_mismatches(self, found: MismatchesFound) -> None:
        self.recorded.append(found)

    @activity.defn(name="refund_stray_payment")
    async def refund_stray_payment(self, stray: StrayPayment) -> StrayPaymentResult:
        self.refunded.append(stray.payment_intent_id)
        return StrayPaymentResult("refunded", f"re_{stray.payment_intent_id}", 4500)


async def test_scheduled_run_reports_the_previous_day_and_refunds_a_stray_once(
    env: WorkflowEnvironment,
) -> None:
    queue = f"reconcile-{uuid.uuid4()}"
    fakes = FakeStripeAndBooks()
    config = short_config(queue)
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[ReconciliationWorkflow, RefundLatePayment],
        activities=[
            fakes.list_stripe_period,
            fakes.read_books,
            fakes.look_up_at_stripe,
            fakes.refund_stray_payment,
            fakes.record_mismatches,
        ],
    ):
        started = int((await env.get_current_time()).timestamp())
        first = await env.client.start_workflow(
            ReconciliationWorkflow.run,
            ReconcileInput(fix=True, config=config),
            id=f"reconciliation-{uuid.uuid4()}",
            task_queue=queue,
            execution_timeout=timedelta(minutes=5),
        )
        report: Report = await first.result()
        await save_history(first, "reconciliation_stray_refunded_recorded")
        assert fakes.periods == [previous_day(started)]
        assert report.period == previous_day(started)
        assert fakes.books_asked[0].intent_ids == ["pi_kept", "pi_stray"]
        assert fakes.books_asked[0].order_ids == ["o_done", "o_expired"]
        assert fakes.looked_up == [LookUp(["pi_gone"], [])]
        assert [(m.kind, m.order_id, m.payment_intent_id, m.fixed) for m in report.mismatches] == [
            (MismatchKind.PAID_NOT_IN_BOOKS, "o_expired", "pi_stray", "refunded"),
            (MismatchKind.PAYMENT_NOT_AT_STRIPE, "o_paid", "pi_gone", None),
        ]
        assert (report.fixed, report.intents_seen) == (1, 2)
        assert fakes.refunded == ["pi_stray"]
        assert fakes.recorded == [MismatchesFound(report.period, report.mismatches)]

        # Stripe still lists the stray (the fake forgets nothing): RefundLatePayment for that
        # PaymentIntent has run, so it is not started again.
        handle = await env.client.start_workflow(
            ReconciliationWorkflow.run,
            ReconcileInput(since=started - 3600, until=started, fix=True, config=config),
            id=f"reconciliation-{uuid.uuid4()}",
            task_queue=queue,
        )
        again = await handle.result()
        await save_history(handle, "reconciliation_refund_already_started_recorded")
        assert again.period == Period(started - 3600, started)
        assert again.mismatches[0].fixed == "already_started"
        assert fakes.recorded[1:] == [MismatchesFound(again.period, again.mismatches)]
        assert fakes.refunded == ["pi_stray"]
        progress = await handle.query(ReconciliationWorkflow.progress)
        assert (progress.step, progress.mismatches, progress.fixed) == ("done", 2, 0)


async def test_a_run_whose_mismatches_cannot_be_recorded_still_reports(
    env: WorkflowEnvironment,
) -> None:
    """A payments worker of the build before lacks record_mismatches (here: it always fails)."""
    queue = f"reconcile-{uuid.uuid4()}"
    fakes = FakeStripeAndBooks()
    tries: list[int] = []

    @activity.defn(name="record_mismatches")
    async def record_mismatches(found: MismatchesFound) -> None:
        tries.append(len(found.mismatches))
        raise RuntimeError("Activity function record_mismatches is not registered")

    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[ReconciliationWorkflow],
        activities=[
            fakes.list_stripe_period,
            fakes.read_books,
            fakes.look_up_at_stripe,
            record_mismatches,
        ],
    ):
        report: Report = await env.client.execute_workflow(
            ReconciliationWorkflow.run,
            ReconcileInput(config=short_config(queue)),
            id=f"reconciliation-{uuid.uuid4()}",
            task_queue=queue,
            execution_timeout=timedelta(minutes=5),
        )
    assert [m.kind for m in report.mismatches] == [
        MismatchKind.PAID_NOT_IN_BOOKS,
        MismatchKind.PAYMENT_NOT_AT_STRIPE,
    ]
    assert tries == [2, 2, 2]  # its three attempts, then the run goes on
