"""Kept pages: an event's page rendered once for everyone not signed in is, with each answer's
own CSRF token and form key, the page a fresh rendering gives."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from fastapi import Request

from boxoffice.core.settings import Settings
from boxoffice.events.availability import BUYABLE, seats_of
from boxoffice.events.schemas import EventPublic
from boxoffice.storefront.kept import KeptPages
from boxoffice.storefront.web import Shop, page

HOSTILE = "a\"'><script>&amp;"


def test_a_page_is_rendered_once_per_source_and_filled_per_answer() -> None:
    pages = KeptPages()
    rendered: list[Mapping[str, str]] = []

    def render(marks: Mapping[str, str]) -> str:
        rendered.append(marks)
        return f"<p>{marks['csrf']}|{marks['key']}|{marks['csrf']}</p>"

    source = object()
    first = pages.body("k", source, render, {"csrf": "one", "key": "1"})
    second = pages.body("k", source, render, {"csrf": HOSTILE, "key": "2"})
    assert first == "<p>one|1|one</p>"
    assert (
        second
        == "<p>a&#34;&#39;&gt;&lt;script&gt;&amp;amp;|2|a&#34;&#39;&gt;&lt;script&gt;&amp;amp;</p>"
    )
    assert len(rendered) == 1
    assert pages.body("k", object(), render, {"csrf": "x", "key": "3"}) == "<p>x|3|x</p>"
    assert len(rendered) == 2  # a new reading of the catalogue: rendered again


def test_pages_kept_are_bounded() -> None:
    pages = KeptPages(limit=2)
    source = object()
    for key in ("a", "b", "c"):
        pages.body(key, source, lambda marks: "<p></p>", {})
    assert len(pages._pages) == 2


def _request(shop: Shop) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/shop/events/x",
        "query_string": b"",
        "headers": [(b"accept-language", b"pt-BR")],
        "app": SimpleNamespace(state=SimpleNamespace(shop=shop)),
    }
    return Request(scope)


def _event() -> EventPublic:
    now = datetime.now(UTC)
    money = {"amount": 4500, "currency": "EUR"}
    return EventPublic.model_validate(
        {
            "id": uuid.uuid4(),
            "name": "<b>Night</b> & day",
            "venue": "Hall",
            "starts_at": now + timedelta(days=30),
            "status": "on_sale",
            "refund_cutoff_hours": 24,
            "ticket_types": [
                {
                    "id": uuid.uuid4(),
                    "name": f"Type {capacity}",
                    "price": money,
                    "capacity": capacity,
                    "available": available,
                    "on_sale_from": opens,
                    "on_sale_until": now + timedelta(days=29),
                }
                for capacity, available, opens in (
                    (1000, 1000, None),
                    (50, 3, None),
                    (10, 0, None),
                    (20, 20, now + timedelta(days=1)),
                )
            ],
        }
    )


def test_the_kept_event_page_is_the_freshly_rendered_one() -> None:
    shop = Shop.build(Settings(_env_file=None))
    event = _event()
    seats = seats_of(event, {}, datetime.now(UTC))
    context = {
        "event": event,
        "seats": seats,
        "buyable": BUYABLE,
        "max_per_order": 10,
        "max_per_buyer": None,
        "error": None,
        "form": None,
        "name": "",
        "email": "",
    }
    found = (event, seats)
    for csrf, key in (("token-one", "a" * 32), (HOSTILE, "b" * 32)):
        request = _request(shop)
        fresh = page(request, "event.html", csrf, key=key, **context)

        def render(marks: Mapping[str, str], request: Request = request) -> str:
            return page(request, "event.html", marks["csrf"], key=marks["key"], **context)

        kept = shop.pages.body("event", found, render, {"csrf": csrf, "key": key})
        assert kept == fresh
        assert 'lang="pt-BR"' in kept and key in kept and "<script>" not in kept
