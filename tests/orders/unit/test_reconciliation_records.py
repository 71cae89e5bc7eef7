"""record_mismatches: each mismatch a reconciliation run found is one structured warning line
(kind, order, PaymentIntent, amounts; nothing of a card or a buyer) and one count of
boxoffice_reconciliation_mismatches_total{kind}; each fixing outcome a count of
boxoffice_reconciliation_fixes_total{outcome}."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry
from temporalio.testing import ActivityEnvironment

from boxoffice.core.observability.logging import JsonHandler
from boxoffice.core.observability.worker_metrics import WorkerMetrics
from boxoffice.orders.reconciliation.activities import FIX_OUTCOMES, ReconciliationActivities
from boxoffice.orders.reconciliation.messages import (
    Mismatch,
    MismatchesFound,
    MismatchKind,
    Period,
)

K = MismatchKind
FOUND = MismatchesFound(
    Period(1_764_633_600, 1_764_720_000),
    [
        Mismatch(
            K.PAID_NOT_IN_BOOKS,
            "the order is expired and records no such payment",
            "ord_1",
            "pi_stray",
            stripe_amount=4500,
            fixable=True,
            fixed="refunded",
        ),
        Mismatch(K.PAID_NOT_IN_BOOKS, "names no order", None, "pi_unknown", stripe_amount=900),
        Mismatch(K.REFUNDED_TWICE, "2 refunds", "ord_2", "pi_2", ["re_a", "re_b"], 6000, 3000),
        Mismatch(K.PAYMENT_NOT_AT_STRIPE, "no such PaymentIntent", "ord_3", "pi_3", our_amount=20),
    ],
)


def count(metrics: WorkerMetrics, name: str, **labels: str) -> float | None:
    """None when the series does not exist (not even at zero)."""
    return metrics.registry.get_sample_value(name, labels)


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The reconciliation logger's lines as a worker writes them (masked JSON)."""
    stream = io.StringIO()
    handler = JsonHandler("worker", stream)
    logger = logging.getLogger("boxoffice.reconciliation")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def activities_counting_into(metrics: WorkerMetrics) -> ReconciliationActivities:
    """The activities as a payments worker builds them, with this registry (no Stripe or
    database: record_mismatches touches neither)."""
    return ReconciliationActivities(cast(Any, None), cast(Any, None), metrics)


async def record(activities: ReconciliationActivities, found: MismatchesFound) -> None:
    await ActivityEnvironment().run(activities.record_mismatches, found)


async def test_each_mismatch_is_one_line_and_one_count(json_lines: io.StringIO) -> None:
    metrics = WorkerMetrics(CollectorRegistry(), process_collectors=False)
    activities = activities_counting_into(metrics)
    # Every kind and outcome is there at zero before any run.
    for kind in MismatchKind:
        assert count(metrics, "boxoffice_reconciliation_mismatches_total", kind=kind.value) == 0.0
    for outcome in FIX_OUTCOMES:
        assert count(metrics, "boxoffice_reconciliation_fixes_total", outcome=outcome) == 0.0

    await record(activities, FOUND)

    mismatches = "boxoffice_reconciliation_mismatches_total"
    assert count(metrics, mismatches, kind="paid_not_in_books") == 2
    assert count(metrics, mismatches, kind="refunded_twice") == 1
    assert count(metrics, mismatches, kind="payment_not_at_stripe") == 1
    assert count(metrics, mismatches, kind="amount_differs") == 0
    assert count(metrics, "boxoffice_reconciliation_fixes_total", outcome="refunded") == 1
    assert count(metrics, "boxoffice_reconciliation_fixes_total", outcome="kept") == 0

    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert [(line["level"], line["kind"]) for line in lines] == [
        ("WARNING", "paid_not_in_books"),
        ("WARNING", "paid_not_in_books"),
        ("WARNING", "refunded_twice"),
        ("WARNING", "payment_not_at_stripe"),
    ]
    stray, unknown, twice, unpaid = lines
    assert stray["message"] == (
        "reconciliation mismatch paid_not_in_books: the order is expired and records no such "
        "payment"
    )
    assert (stray["order_id"], stray["payment_intent_id"], stray["amount"]) == (
        "ord_1",
        "pi_stray",
        4500,
    )
    assert (stray["fixed"], stray["period_since"]) == ("refunded", FOUND.period.since)
    assert stray["reconciliation_id"] == "test"  # ActivityEnvironment's run
    # No order known: no order_id (not the reconciliation's own run id in its place).
    assert "order_id" not in unknown and "workflow_id" not in unknown
    assert (twice["refund_ids"], twice["stripe_amount"], twice["our_amount"]) == (
        ["re_a", "re_b"],
        6000,
        3000,
    )
    assert (unpaid["amount"], unpaid["stripe_amount"]) == (20, None)


async def test_a_run_without_mismatches_counts_nothing(json_lines: io.StringIO) -> None:
    metrics = WorkerMetrics(CollectorRegistry(), process_collectors=False)
    await record(activities_counting_into(metrics), MismatchesFound(FOUND.period, []))
    assert json_lines.getvalue() == ""
    for kind in MismatchKind:
        assert count(metrics, "boxoffice_reconciliation_mismatches_total", kind=kind.value) == 0
