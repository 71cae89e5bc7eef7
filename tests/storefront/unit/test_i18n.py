"""Languages: which one a request gets, money and dates in it, and a complete catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import boxoffice.storefront
from boxoffice.storefront import i18n

HERE = Path(boxoffice.storefront.__file__).parent


@pytest.mark.parametrize(
    ("choice", "accept", "expected"),
    [
        (None, None, "en"),
        (None, "pt-BR,pt;q=0.9,en;q=0.8", "pt_BR"),
        (None, "pt", "pt_BR"),
        (None, "de-DE,de;q=0.9", "en"),
        (None, "de;q=0.9,pt;q=0.5,en;q=0.7", "en"),
        (None, "de;q=0.9,pt;q=0.8,en;q=0.7", "pt_BR"),
        (None, "pt;q=0", "en"),
        ("en", "pt-BR", "en"),
        ("pt-BR", "en", "pt_BR"),
        ("xx-nonsense", "pt-BR", "pt_BR"),
        (None, "*;q=1,garbage;;q=x", "en"),
    ],
)
def test_the_language_is_the_choice_then_accept_language(
    choice: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.negotiate(choice, accept) == expected


def test_money_is_written_as_each_language_writes_it() -> None:
    assert i18n.money(4550, "EUR", "en") == "€45.50"
    assert i18n.money(4550, "EUR", "pt_BR").replace("\xa0", " ") == "€ 45,50"
    assert i18n.money(1200, "BRL", "pt_BR").replace("\xa0", " ") == "R$ 12,00"
    assert i18n.money(1200, "JPY", "en") == "¥1,200"  # no minor unit


def test_dates_are_in_the_shops_time_zone_and_language() -> None:
    moment = datetime(2027, 10, 1, 17, 30, tzinfo=UTC)
    assert i18n.when(moment, "en", "UTC").startswith("Oct 1, 2027")
    brazil = i18n.when(moment, "pt_BR", "America/Sao_Paulo")
    assert brazil.startswith("1 de out. de 2027") and "14:30" in brazil
    assert brazil.endswith("(America/Sao_Paulo)")


def test_every_text_of_the_pages_is_translated() -> None:
    method_map = [("templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    keywords = {"_": None, "gettext": (2,), "N_": None}
    wanted = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(HERE, method_map, options, keywords=keywords)
    }
    with (HERE / "locale" / "pt_BR" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    missing = sorted(m for m in wanted if not (catalog.get(m) and catalog.get(m).string))  # type: ignore[union-attr]
    assert not missing, f"no pt_BR translation (run make messages, then translate): {missing}"
    assert len(wanted) > 50
    translated = i18n.translations("pt_BR").gettext("Reserve tickets")
    assert translated == "Reservar ingressos"
