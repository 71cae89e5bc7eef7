"""Who is asking, and whether a form really comes from our page.

CSRF: double submit. Each browser gets a random token in an HttpOnly cookie and the same
token in every form (or, from the checkout's script, an `X-CSRF-Token` header); a POST whose
two copies differ, or whose Origin is another site's, is refused. A signed-in session's cookie
is SameSite=Lax as well, so another site's form carries no session in the first place."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData

from boxoffice.storefront.web import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE

if TYPE_CHECKING:
    from boxoffice.accounts.domain import Account
    from boxoffice.accounts.service import AccountService


class CsrfRefused(Exception):
    """The form did not come from our page (or its page is too old): shown as a 403 page."""


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # Browsers send Origin on every cross-site POST; without one, the tokens decide.
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host") or origin == _public_origin(request)


def _public_origin(request: Request) -> str:
    parts = urlsplit(request.app.state.settings.public_base_url)
    return f"{parts.scheme}://{parts.netloc}"


def _check(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise CsrfRefused()
    if not _same_origin(request):
        raise CsrfRefused()


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token matched."""
    form = await request.form(max_files=0, max_fields=200)
    submitted = form.get(CSRF_FIELD)
    _check(request, submitted if isinstance(submitted, str) else None)
    return form


async def checked_script(request: Request) -> None:
    """A POST from our own script: its header carries the token."""
    _check(request, request.headers.get(CSRF_HEADER))


CheckedForm = Annotated[FormData, Depends(checked_form)]


def form_text(form: FormData | None, name: str, *, strip: bool = False) -> str:
    """A text field of a form ("" when absent or a file), trimmed with `strip` (never a
    password: its spaces are part of it)."""
    value = form.get(name) if form is not None else None
    if not isinstance(value, str):
        return ""
    return value.strip() if strip else value


async def signed_in(request: Request) -> Account | None:
    """The account of this browser's session, or None; kept on `request.state.account` for
    the page's header."""
    if hasattr(request.state, "account"):
        return request.state.account  # type: ignore[no-any-return]
    accounts: AccountService | None = getattr(request.app.state, "accounts", None)
    raw = request.cookies.get(SESSION_COOKIE)
    account = await accounts.session_account(raw) if accounts is not None and raw else None
    request.state.account = account
    return account


SignedIn = Annotated["Account | None", Depends(signed_in)]
