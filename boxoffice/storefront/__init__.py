"""The storefront: the pages a buyer uses (events, an event, checkout, the order, the
account), served by the API's own app and calling the same services as the JSON API."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from boxoffice.core.settings import Settings
from boxoffice.storefront.guards import CsrfRefused
from boxoffice.storefront.pages import account, catalogue, checkout, order
from boxoffice.storefront.web import HERE, CachedStatic, Shop, gettext, render


def install(app: FastAPI, settings: Settings) -> None:
    app.state.shop = Shop.build(settings)
    app.include_router(catalogue.router)
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
