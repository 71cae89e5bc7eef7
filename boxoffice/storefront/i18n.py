"""Languages of the pages: English and Brazilian Portuguese. The language comes from the
buyer's choice (the switcher's cookie), else from Accept-Language; money and dates are
formatted for it by Babel. Translations are read from our `.po` files at start (no compiled
`.mo` to keep in step with them)."""

from __future__ import annotations

import io
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_currency_precision
from babel.support import NullTranslations, Translations

#: Locales the pages speak, the first the default. Their tags as buyers' browsers send them.
LOCALES: Final = ("en", "pt_BR")
TAGS: Final = {"en": "en", "pt_BR": "pt-BR"}
NAMES: Final = {"en": "English", "pt_BR": "Português (Brasil)"}
#: The cookie the language switcher sets (a year).
LANG_COOKIE: Final = "bxo_lang"
_LOCALE_DIR = Path(__file__).parent / "locale"


@lru_cache(maxsize=1024)
def from_tag(tag: str | None) -> str | None:
    """`pt-BR`, `pt_br`, `pt` -> `pt_BR`; `en-GB` -> `en`; anything else -> None. Remembered:
    Babel's parsing was a tenth of an event page's time, for the few tags browsers send."""
    if not tag:
        return None
    try:
        wanted = Locale.parse(tag.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    for code in LOCALES:
        if Locale.parse(code).language == wanted.language:
            return code
    return None


def negotiate(choice: str | None, accept_language: str | None) -> str:
    """The buyer's explicit choice first, then the first language of Accept-Language that we
    speak (by its q-values), then English."""
    chosen = from_tag(choice)
    if chosen is not None:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag))
    for quality, _, tag in sorted(ranked):
        code = from_tag(tag)
        if code is not None and quality < 0:
            return code
    return LOCALES[0]


@cache
def translations(locale: str) -> NullTranslations:
    """The catalogue of `locale` (English is the source text itself)."""
    po = _LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == LOCALES[0] or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def money(amount_minor: int, currency: str, locale: str) -> str:
    """12345 EUR -> `€123.45` (en) or `€ 123,45` (pt_BR); the currency's own decimals."""
    digits = get_currency_precision(currency)
    return format_currency(amount_minor / 10**digits, currency, locale=locale)


def when(moment: datetime, locale: str, zone: str) -> str:
    """A date and time as people of `locale` write it, in the shop's time zone, with it named."""
    return f"{format_datetime(moment, 'medium', tzinfo=ZoneInfo(zone), locale=locale)} ({zone})"
