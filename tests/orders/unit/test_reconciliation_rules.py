"""The matching rules of reconciliation: each kind of mismatch, what is not one, and which are
safe to fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import typer

from boxoffice.orders.reconciliation.cli import parse_moment
from boxoffice.orders.reconciliation.messages import (
    BookPayment,
    BookRefund,
    Books,
    Mismatch,
    MismatchKind,
    Period,
    StripeIntent,
    StripeRefund,
    StripeView,
)
from boxoffice.orders.reconciliation.report_view import report_json
from boxoffice.orders.reconciliation.rules import (
    build_report,
    find_mismatches,
    previous_day,
    to_look_up,
)

K = MismatchKind
T0 = 1_764_720_000  # 2025-12-03 00:00 UTC


def intent(
    pi: str, order: str | None, amount: int = 4500, status: str = "succeeded"
) -> StripeIntent:
    return StripeIntent(pi, status, amount, "EUR", T0 + 10, order)


def refund(re_id: str, pi: str, amount: int = 4500, status: str = "succeeded") -> StripeRefund:
    return StripeRefund(re_id, pi, amount, status, T0 + 20)


def paid(order: str, pi: str, amount: int = 4500, status: str = "succeeded") -> BookPayment:
    return BookPayment(order, pi, amount, status)


def kinds(found: list[Mismatch]) -> list[tuple[MismatchKind, str | None, bool]]:
    return [(m.kind, m.payment_intent_id, m.fixable) for m in found]


def test_books_that_match_have_no_mismatch() -> None:
    view = StripeView(
        [intent("pi_1", "o1"), intent("pi_2", "o2"), intent("pi_3", "o3")],
        [refund("re_2", "pi_2"), refund("re_3", "pi_3")],
    )
    books = Books(
        {"o1": "completed", "o2": "refunded", "o3": "cancelled"},
        [paid("o1", "pi_1"), paid("o2", "pi_2"), paid("o3", "pi_0", status="declined")],
        [
            BookRefund("o2", "pi_2", "re_2", 4500, "succeeded"),
            BookRefund("o3", "pi_3", "re_3", 4500, "succeeded", "stray"),
        ],
        in_period_payments=["pi_1", "pi_2"],
        in_period_refunds=["pi_2", "pi_3"],
    )
    assert find_mismatches(view, books) == []


def test_paid_at_stripe_not_in_books_and_which_are_safe_to_refund() -> None:
    view = StripeView(
        [
            intent("pi_expired", "o_expired"),
            intent("pi_twice", "o_completed"),
            intent("pi_kept", "o_completed"),
            intent("pi_paying", "o_paying"),
            intent("pi_unknown", "o_nobody"),
            intent("pi_none", None),
            intent("pi_open", "o_open", status="requires_action"),  # not money taken
        ]
    )
    books = Books(
        {"o_expired": "expired", "o_completed": "completed", "o_paying": "paying"},
        [paid("o_completed", "pi_kept"), paid("o_paying", "pi_paying", status="created")],
    )
    found = find_mismatches(view, books)
    assert kinds(found) == [
        (K.PAID_NOT_IN_BOOKS, "pi_expired", True),
        (K.PAID_NOT_IN_BOOKS, "pi_twice", True),  # a second payment of a kept order
        (K.PAID_NOT_IN_BOOKS, "pi_paying", False),  # its run is still deciding
        (K.PAID_NOT_IN_BOOKS, "pi_unknown", False),
        (K.PAID_NOT_IN_BOOKS, "pi_none", False),
    ]
    assert found[0].detail == "the order is expired and records no such payment"
    assert found[1].detail == "the order (completed) keeps another payment, pi_kept"
    assert (found[0].order_id, found[0].stripe_amount) == ("o_expired", 4500)


def test_a_refunded_stray_payment_is_settled_not_a_mismatch() -> None:
    view = StripeView([intent("pi_s", "o1")], [refund("re_s", "pi_s")])
    books = Books(
        {"o1": "cancelled"}, [], [BookRefund("o1", "pi_s", "re_s", 4500, "succeeded", "stray")]
    )
    assert find_mismatches(view, books) == []


def test_refunds_at_stripe_we_did_not_record_and_refunds_twice() -> None:
    view = StripeView(
        [intent("pi_1", "o1"), intent("pi_2", "o2", amount=1000)],
        [
            refund("re_ours", "pi_1"),
            refund("re_extra", "pi_1"),
            refund("re_big", "pi_2", amount=1500),
            refund("re_failed", "pi_2", status="failed"),  # gave nothing back
        ],
    )
    books = Books(
        {"o1": "refunded", "o2": "completed"},
        [paid("o1", "pi_1"), paid("o2", "pi_2", amount=1000)],
        [BookRefund("o1", "pi_1", "re_ours", 4500, "succeeded")],
    )
    found = find_mismatches(view, books)
    assert [(m.kind, m.order_id, m.refund_ids) for m in found] == [
        (K.REFUND_NOT_IN_BOOKS, "o1", ["re_extra"]),
        (K.REFUND_NOT_IN_BOOKS, "o2", ["re_big"]),
        (K.REFUNDED_TWICE, "o1", ["re_extra", "re_ours"]),
        (K.REFUNDED_TWICE, "o2", ["re_big"]),  # one refund, more than was paid
    ]
    assert (found[2].stripe_amount, found[2].our_amount) == (9000, 4500)
    assert not any(m.fixable for m in found)


def test_in_our_books_but_not_at_stripe() -> None:
    view = StripeView(
        [intent("pi_open", "o2", status="requires_payment_method")],
        [refund("re_failed", "pi_4", status="failed")],
        missing=["pi_gone", "re_gone"],
    )
    books = Books(
        {"o1": "paid", "o2": "completed", "o3": "refunded", "o4": "refunded", "o5": "refunded"},
        [paid("o1", "pi_gone"), paid("o2", "pi_open"), paid("o9", "pi_old")],
        [
            BookRefund("o3", "pi_3", "re_gone", 4500, "succeeded"),
            BookRefund("o4", "pi_4", "re_failed", 4500, "succeeded"),
            BookRefund("o5", "pi_5", None, 4500, "pending"),  # under way: not yet a claim
        ],
        in_period_payments=["pi_gone", "pi_open"],  # pi_old: another period's
        in_period_refunds=["pi_3", "pi_4", "pi_5"],
    )
    found = find_mismatches(view, books)
    assert [(m.kind, m.order_id, m.detail) for m in found] == [
        (K.PAYMENT_NOT_AT_STRIPE, "o1", "Stripe has no such PaymentIntent"),
        (K.PAYMENT_NOT_AT_STRIPE, "o2", "the PaymentIntent is requires_payment_method at Stripe"),
        (K.REFUND_NOT_AT_STRIPE, "o3", "our order refund is not at Stripe"),
        (K.REFUND_NOT_AT_STRIPE, "o4", "our order refund is not at Stripe (failed there)"),
    ]


def test_amounts_that_differ() -> None:
    view = StripeView([intent("pi_1", "o1", amount=5000)])
    books = Books({"o1": "completed"}, [paid("o1", "pi_1", amount=4500)])
    [found] = find_mismatches(view, books)
    assert (found.kind, found.stripe_amount, found.our_amount) == (K.AMOUNT_DIFFERS, 5000, 4500)


def test_what_is_looked_up_by_id() -> None:
    view = StripeView([intent("pi_1", "o1")], [refund("re_1", "pi_1"), refund("re_2", "pi_old")])
    books = Books(
        {},
        [paid("o1", "pi_1"), paid("o2", "pi_2")],
        [
            BookRefund("o1", "pi_1", "re_1", 1, "succeeded"),
            BookRefund("o3", "pi_3", "re_3", 1, "succeeded"),
        ],
    )
    assert to_look_up(view, books) == (["pi_2", "pi_old"], ["re_3"])


def test_previous_day_and_report() -> None:
    assert previous_day(T0 + 3 * 3600) == Period(T0 - 86_400, T0)
    assert previous_day(T0) == Period(T0 - 86_400, T0)
    view = StripeView([intent("pi_x", "o_x")], [refund("re_x", "pi_x")])
    mismatches = find_mismatches(view, Books({"o_x": "expired"}))
    mismatches[0].fixed = "refunded"
    report = build_report(Period(T0, T0 + 86_400), view, mismatches)
    assert (report.intents_seen, report.refunds_seen, report.fixed) == (1, 1, 1)
    assert report.counts == {"paid_not_in_books": 1, "refund_not_in_books": 1}
    assert '"since": "2025-12-03T00:00:00+00:00"' in report_json(report)


def test_since_and_until_read_as_durations_dates_and_times() -> None:
    now = datetime(2025, 12, 3, 12, 0, tzinfo=UTC)
    assert parse_moment("36h", now) == int(now.timestamp()) - 36 * 3600
    assert parse_moment("2025-12-01", now) == int(datetime(2025, 12, 1, tzinfo=UTC).timestamp())
    assert parse_moment("2025-12-01T10:00:00+01:00", now) == int(
        datetime(2025, 12, 1, 9, tzinfo=UTC).timestamp()
    )
    with pytest.raises(typer.BadParameter):
        parse_moment("yesterday", now)
