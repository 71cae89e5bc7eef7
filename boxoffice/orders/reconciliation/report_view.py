"""The report for people (rich tables) and for tools (`--json`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from boxoffice.core.cli_tables import console, table
from boxoffice.orders.reconciliation.messages import Report


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def report_json(report: Report) -> str:
    data: dict[str, Any] = asdict(report)
    data["period"] = {"since": _when(report.period.since), "until": _when(report.period.until)}
    return json.dumps(data, indent=2, default=str)


def print_report(report: Report) -> None:
    out = console()
    period = f"{_when(report.period.since)} .. {_when(report.period.until)}"
    out.print(
        f"Stripe, {period}: {report.intents_seen} succeeded PaymentIntents, "
        f"{report.refunds_seen} refunds; {len(report.mismatches)} mismatches, "
        f"{report.fixed} refunded now."
    )
    if not report.mismatches:
        out.print("The books match Stripe.")
        return
    out.print(table("Mismatches per kind", ["kind", "count"], list(report.counts.items())))
    rows = [
        [
            m.kind,
            m.order_id,
            m.payment_intent_id,
            ", ".join(m.refund_ids) or None,
            m.stripe_amount,
            m.our_amount,
            m.fixed or ("can fix (--fix)" if m.fixable else None),
            m.detail,
        ]
        for m in report.mismatches
    ]
    columns = ["kind", "order", "PaymentIntent", "refunds", "Stripe", "ours", "fix", "detail"]
    out.print(table("Mismatches", columns, rows))
