"""The storefront: the pages a buyer uses (events, an event, checkout, the order, the
account), served by the API's own app and calling the same services as the JSON API."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from boxoffice.core.settings import Settings
from boxoffice.storefront.guards import CsrfRefused
from boxoffice.storefront.pages import account, catalogue, checkout, order
from boxoffice.storefront.web import HERE, CachedStatic, Shop, gettext, render

#: The pages an on-sale's crowd loads (the event list, an event's page), for `create_app` to
#: include before the API's routes: a request is matched against each route in turn, and the
#: API's 40 routes before the event page took about a third of a kept page's time
#: (`make bench`'s `event_page`); these 4 first cost an API request about 10 µs. Their paths
#: are the shop's alone, so the order changes no answer.
FRONT = catalogue.router


def install(app: FastAPI, settings: Settings) -> None:
    """The shop's state and the rest of its pages (`FRONT` is included by `create_app`)."""
    app.state.shop = Shop.build(settings)
    app.include_router(checkout.router)
    app.include_router(order.router)
    app.include_router(account.router)
    app.mount("/shop/static", CachedStatic(directory=HERE / "static"), name="shop-static")
    app.add_exception_handler(CsrfRefused, _csrf_refused)


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    return render(
        request,
        "message.html",
        status_code=403,
        title=gettext(request, "This form has expired"),
        message=gettext(request, "Go back, reload the page and try again."),
    )
