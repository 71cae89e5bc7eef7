"""`boxoffice reconcile` prints the report as tables or JSON and exits 1 while a mismatch is
left; the check itself (a workflow on the workers) is replaced by a fixed report."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from boxoffice.cli import app
from boxoffice.orders.reconciliation import cli
from boxoffice.orders.reconciliation.messages import Mismatch, MismatchKind, Period, Report

T0 = 1_764_720_000

REPORT = Report(
    Period(T0, T0 + 86_400),
    intents_seen=3,
    refunds_seen=1,
    mismatches=[
        Mismatch(
            MismatchKind.PAID_NOT_IN_BOOKS,
            "the order is expired and records no such payment",
            "ord_expired",
            "pi_stray",
            stripe_amount=4500,
            fixable=True,
            fixed="refunded",
        ),
        Mismatch(
            MismatchKind.REFUND_NOT_IN_BOOKS,
            "a refund at Stripe that we did not record",
            "ord_done",
            "pi_kept",
            ["re_behind"],
            stripe_amount=4500,
        ),
    ],
    counts={"paid_not_in_books": 1, "refund_not_in_books": 1},
    fixed=1,
)


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []

    def fake_run(work: Any) -> Report:
        calls.append(work)
        return REPORT

    monkeypatch.setattr(cli, "run", fake_run)
    return calls


def test_json_report_and_exit_code(ran: list[Any]) -> None:
    result = CliRunner().invoke(app, ["reconcile", "--since", "2025-12-03", "--fix", "--json"])
    assert result.exit_code == 1, result.output  # the unrecorded refund is left for support
    data = json.loads(result.stdout)
    assert data["period"] == {
        "since": "2025-12-03T00:00:00+00:00",
        "until": "2025-12-04T00:00:00+00:00",
    }
    assert data["counts"] == {"paid_not_in_books": 1, "refund_not_in_books": 1}
    assert [(m["kind"], m["order_id"], m["fixed"]) for m in data["mismatches"]] == [
        ("paid_not_in_books", "ord_expired", "refunded"),
        ("refund_not_in_books", "ord_done", None),
    ]
    assert len(ran) == 1


def test_tables_name_each_mismatch(ran: list[Any]) -> None:
    result = CliRunner().invoke(app, ["reconcile", "--since", "24h"])
    assert result.exit_code == 1
    for shown in ("2 mismatches, 1 refunded now", "pi_stray", "re_behind", "ord_done", "4500"):
        assert shown in result.stdout


def test_bad_periods_are_refused_before_anything_runs(ran: list[Any]) -> None:
    assert CliRunner().invoke(app, ["reconcile"]).exit_code == 2
    assert CliRunner().invoke(app, ["reconcile", "--since", "soon"]).exit_code == 2
    backwards = ["reconcile", "--since", "2025-12-03", "--until", "2025-12-01"]
    assert CliRunner().invoke(app, backwards).exit_code == 2
    assert ran == []
