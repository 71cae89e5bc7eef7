"""Pages rendered once for every buyer who is not signed in: an on-sale's thousands of views of
one event's page cost one rendering each time the catalogue is read again, not one each.

The benchmark's `event_page` scenario found the event page's template rendering (Babel's money
and dates, a dozen translated texts, a macro per ticket type) to be about three quarters of
its time in the API process: 1.8 ms or more a view, where a bare FastAPI app answering the
same HTML took 0.15 ms. A kept page is
rendered with marks where each answer's own values go (the browser's CSRF token, the form's
fresh key). Each answer joins the kept pieces with its own values, escaped exactly as the
template escapes them, so it is the page a fresh rendering would give. A page is kept for
the catalogue value it shows (`source`, the Memo's): when the Memo reads the event again, the
page is rendered again."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from markupsafe import escape

#: Random per process, so no event's or buyer's text can carry a mark.
_MARK = secrets.token_hex(12)
_MARKS = re.compile(f"{_MARK}([a-z_]+){_MARK}")
#: Pages kept at most (an event's page per language, mostly).
MAX_PAGES = 1000


def marks(*names: str) -> dict[str, str]:
    """What to render in place of each per-answer value."""
    return {name: f"{_MARK}{name}{_MARK}" for name in names}


@dataclass(frozen=True)
class KeptPage:
    source: object
    #: The HTML between the marks; `names[i]` goes between `pieces[i]` and `pieces[i + 1]`.
    pieces: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def of(cls, source: object, html: str) -> KeptPage:
        parts = _MARKS.split(html)
        return cls(source, tuple(parts[0::2]), tuple(parts[1::2]))

    def fill(self, values: Mapping[str, str]) -> str:
        out = [self.pieces[0]]
        for name, piece in zip(self.names, self.pieces[1:], strict=True):
            out += (escape(values[name]), piece)
        return "".join(out)


class KeptPages:
    """Rendered pages by key (say, the page's path and language)."""

    def __init__(self, limit: int = MAX_PAGES) -> None:
        self._limit = limit
        self._pages: dict[Hashable, KeptPage] = {}

    def body(
        self,
        key: Hashable,
        source: object,
        render: Callable[[Mapping[str, str]], str],
        values: Mapping[str, str],
    ) -> str:
        """The page under `key` with this answer's `values`; `render(marks)` renders it when
        none is kept for this `source` (compared by identity: the Memo's value itself)."""
        page = self._pages.get(key)
        if page is None or page.source is not source:
            page = KeptPage.of(source, render(marks(*values)))
            if key not in self._pages and len(self._pages) >= self._limit:
                self._pages.pop(next(iter(self._pages)))
            self._pages[key] = page
        return page.fill(values)
