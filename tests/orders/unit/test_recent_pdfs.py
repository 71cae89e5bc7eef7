"""The store-to-email handoff of a tickets PDF (activities/documents.py): taken once, only while
fresh, and bounded."""

from __future__ import annotations

from boxoffice.orders.activities.documents import RecentPdfs


def test_a_pdf_is_taken_once() -> None:
    recent = RecentPdfs()
    recent.keep("ord_1", b"%PDF-1")
    assert recent.take("ord_1") == b"%PDF-1"
    assert recent.take("ord_1") is None
    assert recent.take("ord_2") is None


def test_a_stale_pdf_is_not_handed_over() -> None:
    recent = RecentPdfs(keep_seconds=-1)
    recent.keep("ord_1", b"%PDF-1")
    assert recent.take("ord_1") is None


def test_the_oldest_go_first_past_the_bound() -> None:
    recent = RecentPdfs(most=2)
    for n in range(3):
        recent.keep(f"ord_{n}", f"pdf {n}".encode())
    assert recent.take("ord_0") is None
    assert recent.take("ord_2") == b"pdf 2"
