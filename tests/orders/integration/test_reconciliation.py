"""Reconciliation on the real stack, with mismatches made on purpose at the emulator and in
the database: a payment for a cancelled order that the webhook never told us of, refunds made
at Stripe behind our back (one of them a second refund), and an order our books call paid
whose PaymentIntent never succeeded. Each is reported, logged and counted on the payments
worker; `fix` refunds the stray payment once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from temporalio.client import ScheduleActionStartWorkflow

from boxoffice.core.cli_runner import Parts
from boxoffice.core.database.models import StrayRefund
from boxoffice.devstack import stripe_emulator
from boxoffice.devstack.ports import free_port
from boxoffice.orders.activities.payments import make_stripe_client
from boxoffice.orders.reconciliation.cli import run_reconciliation
from boxoffice.orders.reconciliation.messages import MismatchKind, ReconcileInput, Report
from boxoffice.orders.reconciliation.schedule import SCHEDULE_ID, ensure_schedule
from tests.conftest import WEBHOOK_SECRET, Stack
from tests.core.integration.test_metrics import worker_value
from tests.orders.integration.test_stray_payments import (
    PRICE,
    kept_intent,
    pay_beside_the_order,
    refunds_of,
)
from tests.purchases import create_event, order_body, wait_for_status

K = MismatchKind


@asynccontextmanager
async def webhooks_lost(stack: Stack) -> AsyncIterator[None]:
    """Stripe's events go nowhere inside the block (localstripe sends each once, a second
    after the change, to the URL registered then: so wait before restoring)."""
    base = stack.services.stripe_base
    stripe_emulator.register_localstripe_webhook(
        base, f"http://127.0.0.1:{free_port()}/lost", WEBHOOK_SECRET
    )
    try:
        yield
        await asyncio.sleep(1.5)
    finally:
        stripe_emulator.register_localstripe_webhook(
            base, f"{stack.api_url}/webhooks/stripe", WEBHOOK_SECRET
        )


async def reconcile(stack: Stack, since: int, fix: bool) -> Report:
    parts = Parts(stack.settings, stack.sessions, stack.temporal)
    return await run_reconciliation(parts, since, int(time.time()) + 2, fix, wait=60)


def counted(name: str, label: str, values: list[str]) -> Counter[str]:
    """The worker's counts now, for each label value."""
    return Counter({value: worker_value(name, **{label: value}) for value in values})


def logged(caplog: pytest.LogCaptureFixture, orders: set[str]) -> list[tuple[str, str, str]]:
    return sorted(
        (r.kind, r.order_id, r.payment_intent_id)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "boxoffice.reconciliation" and getattr(r, "order_id", None) in orders
    )


def seen(report: Report, orders: set[str]) -> list[tuple[MismatchKind, str | None, str | None]]:
    return sorted((m.kind, m.order_id, m.fixed) for m in report.mismatches if m.order_id in orders)


async def test_mismatches_made_on_purpose_are_reported_and_the_stray_refunded_once(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_stripe_client(stack.settings)
    since = int(time.time()) - 2
    async with stack.http() as http:
        event = await create_event(http)
        cancelled = (await http.post("/orders", json=order_body(event))).json()["id"]
        said_paid = (await http.post("/orders", json=order_body(event))).json()["id"]
        for order_id in (cancelled, said_paid):
            done = await http.post(f"/orders/{order_id}/cancel", json={"reason": "changed"})
            assert done.json()["status"] == "cancelled", done.text
        bought = (await http.post("/orders", json=order_body(event, 1, "pm_card_visa"))).json()
        refunded = (await http.post("/orders", json=order_body(event, 1, "pm_card_visa"))).json()
        await wait_for_status(http, bought["id"], "completed")
        await wait_for_status(http, refunded["id"], "completed")
        assert (await http.post(f"/orders/{refunded['id']}/cancel")).json()["status"] == (
            "refunded"
        )
    bought_pi = await kept_intent(stack, bought["id"])
    refunded_pi = await kept_intent(stack, refunded["id"])

    # Behind our back at Stripe: a refund of a kept payment, a second refund of a refunded one.
    await client.v1.refunds.create_async(params={"payment_intent": bought_pi})
    await client.v1.refunds.create_async(params={"payment_intent": refunded_pi})
    # Our books say paid with a PaymentIntent that never succeeded.
    unpaid = await client.v1.payment_intents.create_async(
        params={"amount": PRICE, "currency": "eur", "metadata": {"order_id": said_paid}}
    )
    async with stack.sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO payment_attempts (order_id, attempt, payment_intent_id, status,"
                " amount, currency) VALUES (:o, 1, :pi, 'succeeded', :amount, 'EUR')"
            ),
            {"o": said_paid, "pi": unpaid.id, "amount": PRICE},
        )
        await session.execute(
            text("UPDATE orders SET status = 'paid' WHERE id = :o"), {"o": said_paid}
        )
    # Money for the cancelled order, whose news never reaches us.
    async with webhooks_lost(stack):
        stray = await pay_beside_the_order(client, cancelled)

    ours = {cancelled, said_paid, bought["id"], refunded["id"]}
    kinds = [str(kind) for kind in K]
    before = counted("boxoffice_reconciliation_mismatches_total", "kind", kinds)
    caplog.set_level(logging.WARNING, logger="boxoffice.reconciliation")
    report = await reconcile(stack, since, fix=False)
    # One count per mismatch of the run (other tests' orders may be in the period too), one
    # warning line for each of ours, with its kind, order and PaymentIntent.
    after = counted("boxoffice_reconciliation_mismatches_total", "kind", kinds)
    assert after - before == Counter(str(m.kind) for m in report.mismatches)
    assert logged(caplog, ours) == sorted(
        (str(m.kind), m.order_id, m.payment_intent_id)
        for m in report.mismatches
        if m.order_id in ours
    )
    assert len(logged(caplog, ours)) == 5
    assert seen(report, ours) == sorted(
        [
            (K.PAID_NOT_IN_BOOKS, cancelled, None),
            (K.PAYMENT_NOT_AT_STRIPE, said_paid, None),
            (K.REFUND_NOT_IN_BOOKS, bought["id"], None),
            (K.REFUND_NOT_IN_BOOKS, refunded["id"], None),
            (K.REFUNDED_TWICE, refunded["id"], None),
        ]
    )
    [stray_found] = [m for m in report.mismatches if m.kind == K.PAID_NOT_IN_BOOKS]
    assert (stray_found.payment_intent_id, stray_found.stripe_amount) == (stray, PRICE)
    assert stray_found.fixable
    assert await refunds_of(client, stray) == []  # reporting touches nothing

    fixes_before = worker_value("boxoffice_reconciliation_fixes_total", outcome="refunded")
    fixed = await reconcile(stack, since, fix=True)
    assert (K.PAID_NOT_IN_BOOKS, cancelled, "refunded") in seen(fixed, ours)
    assert fixed.fixed == 1
    fixes = worker_value("boxoffice_reconciliation_fixes_total", outcome="refunded")
    assert fixes - fixes_before == 1
    async with stack.sessions() as session:
        recorded = await session.get(StrayRefund, stray)
    assert recorded is not None and recorded.status == "succeeded"
    assert await refunds_of(client, stray) == [recorded.stripe_refund_id]

    # Once given back the stray payment is in the books; a second fix refunds nothing more.
    again = await reconcile(stack, since, fix=True)
    assert seen(again, ours) == [m for m in seen(report, ours) if m[1] != cancelled]
    assert again.fixed == 0
    assert await refunds_of(client, stray) == [recorded.stripe_refund_id]


async def test_the_daily_schedule_is_created_then_updated_in_place(stack: Stack) -> None:
    created = await ensure_schedule(stack.temporal, stack.settings, hour=3, fix=True)
    updated = await ensure_schedule(stack.temporal, stack.settings, hour=5, fix=False)
    handle = stack.temporal.get_schedule_handle(SCHEDULE_ID)
    try:
        assert (created, updated) == ("created", "updated")
        described = await handle.describe()
        [calendar] = described.schedule.spec.calendars
        assert [r.start for r in calendar.hour] == [5]
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "ReconciliationWorkflow"
        assert action.task_queue == stack.settings.task_queue_purchases
        [payload] = action.args
        sent = await stack.temporal.data_converter.decode([payload], [ReconcileInput])
        assert (sent[0].since, sent[0].fix) == (None, False)
    finally:
        await handle.delete()
