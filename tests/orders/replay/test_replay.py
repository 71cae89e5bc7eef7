"""Replay every saved history of the purchases queue's workflows (PurchaseWorkflow,
RefundLatePayment, EventCancellationWorkflow, EventPostponementWorkflow) against today's code.

Orders stay open until their event is over, so a workflow change must replay the histories of
runs already in flight. The histories are recorded by the workflow tier, and the chaos tier adds
the paths its faults find on the real stack:

    BOXOFFICE_RECORD_HISTORIES=1 .venv/bin/pytest tests/orders/workflow tests/events/workflow
    BOXOFFICE_RECORD_HISTORIES=1 .venv/bin/pytest tests/orders/chaos

A change that alters a path's commands fails here; guard it with `workflow.patched`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from boxoffice.core.temporal.encryption.codec import encrypting_data_converter
from boxoffice.core.temporal.encryption.keys import KeyRing
from boxoffice.orders.domain import OrderStatus
from boxoffice.orders.messages import PurchaseInput, StatusChange
from boxoffice.orders.workflow.purchase import PurchaseWorkflow
from boxoffice.worker import PURCHASES_WORKFLOWS

HISTORIES = Path(__file__).resolve().parent / "histories"

#: Paths whose histories must be present: every way an order's life can go.
REQUIRED = {
    "paid",
    "declined_then_paid",
    "expired",
    "cancelled",
    "refunded",
    "refund_after_deadline",
    "support_refund_after_deadline",
    "refund_ticket_used",
    "needs_attention_retried",
    # Recorded before `clear-needs-attention-since` was patched in: a run from then must replay.
    "needs_attention_retried_before_clearing_since",
    "reserve_rejected",
    "needs_attention_cancelled",
    "needs_attention_cancel_refused",
    "needs_attention_retry_during_refund",
    "sold_out",
    # The API took the seats and answered before the run's reservation adopted them.
    "paid_while_reserving",
    "cancelled_while_reserving",
    "pay_while_reserving_sold_out",
    # The run's reservation outlasting a database outage (patch reserve-until-hold-ends).
    "reserve_outlasts_outage",
    "pay_after_hold",
    "three_d_secure",
    "three_d_secure_abandoned",
    "three_d_secure_paid_at_expiry",
    "three_d_secure_before_second_attempt",
    "second_attempt_after_3ds",
    "duplicate_reservation",
    "payment_in_flight_at_expiry",
    "cancel_during_payment",
    "cancel_at_close",
    # Support's updates: extend_hold, support_cancel, refund, resend.
    "hold_extended",
    "hold_extended_to_bound",
    "hold_extended_during_charge",
    "extend_at_hold_expiry",
    "extend_refused_after_payment",
    "extend_refused_after_expiry",
    "support_updates_without_reason",
    "support_cancelled_after_deadline",
    "support_cancelled_in_hold",
    "concurrent_support_cancel",
    "support_refund",
    "refund_refused_while_reserved",
    "refund_refused_after_event_start",
    "resent",
    "resend_refused_while_reserved",
    # A resend or refund asked while the first email goes out waits for it (accepted since
    # the row-before-run race was mended; older runs refused it in the validator, which
    # replay skips).
    "resent_while_emailing",
    "resend_waited_on_failing_email",
    "refunded_while_emailing",
    "refund_refused_while_paying",
    # Payments the order does not keep, refunded by its run or by RefundLatePayment.
    "stray_payment_refunded",
    "earlier_attempt_succeeded_late",
    "stray_payment_after_expiry",
    "stray_payment_in_needs_attention",
    "late_payment_refunded",
    # Abuse limits: a short first hold that a card attempt lengthens, the per-buyer cap
    # refused at payment, and the limit on payment attempts.
    "first_hold_expired",
    "first_hold_lengthened_by_decline",
    "first_hold_lengthened_by_3ds",
    "ticket_cap_reached",
    "payment_attempts_exhausted",
    # Paths the chaos tier found on the real stack (BOXOFFICE_RECORD_HISTORIES=1 pytest
    # tests/orders/chaos): activity retries after a killed worker, a restarted server, outages.
    *(
        f"chaos_worker_killed_{step}"
        for step in (
            "before_reserve",
            "after_reserve",
            "during_payment",
            "after_payment_before_issue",
            "during_store",
            "during_email",
        )
    ),
    "chaos_temporal_restarted",
    "chaos_postgres_stopped_during_reservations",
    *(
        f"chaos_stripe_{fault}"
        for fault in ("unreachable", "slow", "answering_500", "cut_after_charging")
    ),
    *(
        f"chaos_{service}_down_{path}"
        for service in ("s3", "smtp")
        for path in ("waited_out", "support_retry", "support_cancel")
    ),
    "chaos_abandoned_hold",
    # An event's life: Stripe refusing a refund, a postponement reaching an order's run, an
    # order with add-ons, and the event-wide runs themselves.
    "refund_refused_by_stripe",
    "event_moved_buyer_refunds",
    "event_moved_closes_later",
    "event_moved_twice",
    "addons_completed",
    "event_cancellation",
    "event_postponement",
}


def saved_histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


def test_every_path_has_a_history() -> None:
    saved = {path.stem for path in saved_histories()}
    assert saved, f"no histories in {HISTORIES}; record them (see this module's docstring)"
    missing = REQUIRED - saved
    assert not missing, f"paths without a saved history: {sorted(missing)}"


@pytest.mark.parametrize(
    "path",
    saved_histories() or [None],
    ids=lambda path: path.stem if isinstance(path, Path) else "no-histories",
)
async def test_history_replays(path: Path | None) -> None:
    assert path is not None, f"no histories in {HISTORIES}: nothing was replayed"
    # With the encrypting converter every worker now runs with: the histories were recorded in
    # the clear, before payloads were encrypted, and open orders from then must still replay.
    converter = encrypting_data_converter(KeyRing({"replay": bytes(32)}, "replay"))
    replayer = Replayer(workflows=PURCHASES_WORKFLOWS, data_converter=converter)

    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=True)

    assert result.replay_failure is None


@workflow.defn(name="PurchaseWorkflow")
class UnguardedChange(PurchaseWorkflow):
    """Today's workflow with an unguarded change: a status record before every release."""

    @workflow.run
    async def run(self, order: PurchaseInput) -> str:
        return await super().run(order)

    async def _release(self, final_status: OrderStatus, reason: str | None) -> None:
        await workflow.execute_activity(
            "record_status",
            StatusChange(self._order.order_id, final_status, reason),
            start_to_close_timeout=timedelta(seconds=10),
        )
        await super()._release(final_status, reason)


async def test_unguarded_change_fails_replay() -> None:
    """The fixtures catch what they are for: a changed path no longer replays."""
    expired = HISTORIES / "expired.json"
    assert expired.exists(), f"{expired} missing; record the histories"
    replayer = Replayer(workflows=[UnguardedChange], workflow_runner=UnsandboxedWorkflowRunner())

    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(load(expired))
