"""What every page shares: the Jinja2 environment (autoescaped: event and buyer names are
untrusted), the request's language, who is signed in, the CSRF token, the Content-Security-
Policy, and `render()`. Pages hold no business rules: they call the order, event and account
services and show what those answer."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from boxoffice.core.settings import Settings
from boxoffice.events.availability import Seats, SeatState
from boxoffice.events.catalogue_cache import Memo
from boxoffice.events.domain import EventStatus
from boxoffice.events.schemas import EventPublic
from boxoffice.orders.domain import OrderStatus
from boxoffice.storefront import i18n
from boxoffice.storefront.kept import KeptPages

HERE = Path(__file__).parent
#: Cookies of the pages. Each is HttpOnly, SameSite=Lax, and Secure when served over https.
CSRF_COOKIE = "bxo_csrf"
SESSION_COOKIE = "bxo_session"
#: The form field and the header (for the checkout's script) carrying the CSRF token.
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_policy(settings: Settings) -> str:
    """Our own scripts and styles, and Stripe's: the card fields are Stripe's (the emulator's
    stand-in in dev), and 3-D Secure opens Stripe's frames."""
    stripe = _origin(settings.stripe_js)
    connect = {stripe}
    frames = {stripe}
    if settings.stripe_js.startswith("https://js.stripe.com/"):
        connect.add("https://api.stripe.com")
        frames.add("https://hooks.stripe.com")
    return (
        "default-src 'self'; "
        f"script-src 'self' {stripe}; "
        f"connect-src 'self' {' '.join(sorted(connect))}; "
        f"frame-src {' '.join(sorted(frames))}; "
        "img-src 'self' data:; style-src 'self'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
    )


class CachedStatic(StaticFiles):
    """Our CSS and scripts: cacheable for an hour (every other answer is no-store)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response


#: What the event list and an event's page show, as the event service answered it.
Listing = list[tuple[EventPublic, Seats | None]]
ShopEvent = tuple[EventPublic, dict[uuid.UUID, Seats]]


@dataclass
class Shop:
    """The pages' shared parts, built once per app (`app.state.shop`). The catalogue the
    pages show is kept for CATALOGUE_CACHE_SECONDS per process, as the JSON catalogue is: an
    on-sale's thousands of page views cost one query a second, not one each."""

    settings: Settings
    env: Environment
    policy: str
    listings: Memo[Listing]
    events: Memo[ShopEvent]
    #: Event pages as anyone not signed in sees them, rendered once per `events` reading.
    pages: KeptPages = field(default_factory=KeptPages)

    @classmethod
    def build(cls, settings: Settings) -> Shop:
        env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.policies["ext.i18n.trimmed"] = True
        seconds = settings.catalogue_cache_seconds
        return cls(settings, env, page_policy(settings), Memo(seconds), Memo(seconds))


def shop_of(request: Request) -> Shop:
    shop: Shop = request.app.state.shop
    return shop


def locale_of(request: Request) -> str:
    locale = getattr(request.state, "locale", None)
    if locale is None:
        locale = i18n.negotiate(
            request.query_params.get("lang") or request.cookies.get(i18n.LANG_COOKIE),
            request.headers.get("accept-language"),
        )
        request.state.locale = locale
    return str(locale)


def gettext(request: Request, message: str, **values: object) -> str:
    """A text of the page's own (not a service's refusal) in the request's language."""
    text = i18n.translations(locale_of(request)).gettext(message)
    return text % values if values else text


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined; `gettext` translates it when shown."""
    return message


#: An order's status in a word or two, for lists.
STATUS_NAMES: dict[str, str] = {
    OrderStatus.PENDING: N_("Reserving"),
    OrderStatus.RESERVED: N_("Reserved"),
    OrderStatus.PAYING: N_("Paying"),
    OrderStatus.PAID: N_("Paid"),
    OrderStatus.COMPLETED: N_("Tickets issued"),
    OrderStatus.SOLD_OUT: N_("Sold out"),
    OrderStatus.EXPIRED: N_("Expired"),
    OrderStatus.CANCELLED: N_("Cancelled"),
    OrderStatus.REFUNDED: N_("Refunded"),
    OrderStatus.NEEDS_ATTENTION: N_("With support"),
}


def csrf_token(request: Request) -> str:
    """The browser's CSRF token (double submit: the cookie and the form field must match); a
    new one when it has none yet, set on the response by `render`."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return str(token)


def set_cookie(response: Response, request: Request, name: str, value: str, **kw: Any) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=shop_of(request).settings.public_base_url.startswith("https://"),
        **kw,
    )


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    return answer(request, page(request, template, csrf_token(request), **context), status_code)


def page(request: Request, template: str, csrf: str, **context: Any) -> str:
    """The HTML of `template` in the request's language, `csrf` in its forms."""
    shop = shop_of(request)
    locale = locale_of(request)
    settings = shop.settings
    env = shop.env
    catalog = i18n.translations(locale)
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    # After a form's POST the switcher goes to the shop's front page, not back to the POST.
    path = request.url.path if request.method == "GET" else "/shop"
    return env.get_template(template).render(
        request=request,
        locale=locale,
        lang_tag=i18n.TAGS[locale],
        languages=[
            (i18n.NAMES[code], f"{path}?{urlencode({'lang': i18n.TAGS[code]})}", code == locale)
            for code in i18n.LOCALES
        ],
        csrf_field=CSRF_FIELD,
        csrf=csrf,
        account=getattr(request.state, "account", None),
        money=lambda amount, currency: i18n.money(amount, currency, locale),
        when=lambda moment: i18n.when(moment, locale, settings.shop_time_zone),
        static=lambda name: f"/shop/static/{name}",
        status_name=lambda status: catalog.gettext(STATUS_NAMES.get(str(status), str(status))),
        S=OrderStatus,
        E=EventStatus,
        Seat=SeatState,
        **context,
    )


def answer(request: Request, body: str, status_code: int = 200) -> Response:
    response = HTMLResponse(body, status_code=status_code)
    finish(request, response)
    return response


def finish(request: Request, response: Response) -> None:
    """What every page answer carries: its policy, a new CSRF cookie, a chosen language."""
    response.headers["Content-Security-Policy"] = shop_of(request).policy
    # Not no-referrer (the API's): with it, browsers send `Origin: null` on our own forms,
    # and the Origin is half of the CSRF check. Other sites still learn nothing.
    response.headers["Referrer-Policy"] = "same-origin"
    new = getattr(request.state, "new_csrf", None)
    if new:
        set_cookie(response, request, CSRF_COOKIE, new, path="/")
    chosen = i18n.from_tag(request.query_params.get("lang"))
    if chosen is not None:
        set_cookie(response, request, i18n.LANG_COOKIE, chosen, path="/", max_age=365 * 86400)


def redirect(request: Request, url: str) -> Response:
    """303 See Other: after a form's POST the browser GETs the answer page."""
    response = RedirectResponse(url, status_code=303)
    finish(request, response)
    return response
