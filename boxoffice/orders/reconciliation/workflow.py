"""ReconciliationWorkflow: one check of the books against Stripe, for a period; its result is
the report. The daily Schedule starts it with no period (the previous UTC day, from the run's
own clock, so a replay computes the same); `boxoffice reconcile` starts it with one.

With `fix`, each stray payment (a succeeded PaymentIntent whose order will never keep it) is
handed to RefundLatePayment as a child with the id derived from the PaymentIntent: the same run
the webhook would have started, so whichever comes first refunds it, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from boxoffice.orders.messages import LatePayment, PipelineConfig
    from boxoffice.orders.reconciliation import rules
    from boxoffice.orders.reconciliation.activities import ReconciliationActivities
    from boxoffice.orders.reconciliation.messages import (
        Books,
        BooksRequest,
        LookUp,
        Mismatch,
        MismatchesFound,
        Period,
        Progress,
        ReconcileInput,
        Report,
        StripeView,
    )
    from boxoffice.orders.workflow.activity_options import ActivityOptions
    from boxoffice.orders.workflow.late_payment import RefundLatePayment, late_payment_workflow_id


@workflow.defn
class ReconciliationWorkflow:
    def __init__(self) -> None:
        self._progress = Progress()

    @workflow.query
    def progress(self) -> Progress:
        return self._progress

    @workflow.run
    async def run(self, request: ReconcileInput) -> Report:
        period = _period(request, int(workflow.now().timestamp()))
        self._progress.step = "listing Stripe"
        view = await workflow.execute_activity_method(
            ReconciliationActivities.list_stripe_period, period, **_options(request.config)
        )
        # The PaymentIntents of refunds made in the period, so their orders are read too.
        view = await self._look_up(view, rules.to_look_up(view, Books())[0], [], request)
        self._progress.step = "reading our books"
        books = await workflow.execute_activity_method(
            ReconciliationActivities.read_books,
            BooksRequest(
                period,
                sorted({i.id for i in view.intents}),
                sorted({i.order_id for i in view.intents if i.order_id}),
            ),
            **_options(request.config),
        )
        view = await self._look_up(view, *rules.to_look_up(view, books), request)
        mismatches = rules.find_mismatches(view, books)
        self._progress.mismatches = len(mismatches)
        if request.fix:
            self._progress.step = "refunding stray payments"
            mismatches = [await self._fix(m, request) for m in mismatches]
        # A log line and a metric per mismatch, where operators look (runs before it: none).
        # Not worth the report: an unversioned payments worker of the build before, which
        # lacks the activity, fails it and the run still returns its report.
        if mismatches and workflow.patched("record-mismatches"):
            try:
                await workflow.execute_activity_method(
                    ReconciliationActivities.record_mismatches,
                    MismatchesFound(period, mismatches),
                    **_options(request.config, timedelta(seconds=30), attempts=3),
                )
            except ActivityError as error:
                workflow.logger.warning("mismatches not logged or counted: %s", error.cause)
        self._progress.step = "done"
        return rules.build_report(period, view, mismatches)

    async def _look_up(
        self, view: StripeView, intents: list[str], refunds: list[str], request: ReconcileInput
    ) -> StripeView:
        if not intents and not refunds:
            return view
        found = await workflow.execute_activity_method(
            ReconciliationActivities.look_up_at_stripe,
            LookUp(intents, refunds),
            **_options(request.config),
        )
        return StripeView(
            [*view.intents, *found.intents],
            [*view.refunds, *found.refunds],
            [*view.missing, *found.missing],
        )

    async def _fix(self, mismatch: Mismatch, request: ReconcileInput) -> Mismatch:
        if not mismatch.fixable or not mismatch.order_id or not mismatch.payment_intent_id:
            return mismatch
        try:
            outcome = await workflow.execute_child_workflow(
                RefundLatePayment.run,
                LatePayment(mismatch.order_id, mismatch.payment_intent_id, request.config),
                id=late_payment_workflow_id(mismatch.payment_intent_id),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            outcome = "already_started"  # the webhook's run has it (or had it)
        if outcome == "refunded":
            self._progress.fixed += 1
        return replace(mismatch, fixed=outcome)


def _options(
    config: PipelineConfig,
    timeout: timedelta = timedelta(minutes=10),
    attempts: int = 5,
) -> ActivityOptions:
    """Reads only: retried a few times, then the run fails where an operator sees it. Recording
    the mismatches is done in a moment: shorter, and fewer tries (the run goes on without)."""
    return ActivityOptions(
        task_queue=config.payments_task_queue,
        start_to_close_timeout=timeout,
        retry_policy=RetryPolicy(
            initial_interval=timedelta(seconds=config.retry_initial_interval_seconds),
            maximum_interval=timedelta(seconds=config.retry_max_interval_seconds),
            maximum_attempts=attempts,
        ),
    )


def _period(request: ReconcileInput, now: int) -> Period:
    if request.since is None:
        return rules.previous_day(now)
    return Period(request.since, now if request.until is None else request.until)
