"""Who may open an order's pages: its account, or the guest browser holding its token (a
cookie sent to that order's pages only). The same rules as the API's (`auth/access.py`): a
guest token never opens an account's order and lapses after the event; anyone else gets
the page an unknown order gets."""

from __future__ import annotations

import re

from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import Response

from boxoffice.auth.access import check_guest_order
from boxoffice.auth.order_tokens import token_matches
from boxoffice.core.database.models import Order
from boxoffice.orders.schemas import ORDER_ID
from boxoffice.storefront.guards import signed_in
from boxoffice.storefront.web import gettext, render

#: The guest's order token, in a cookie scoped to `/shop/orders/<id>`.
ORDER_COOKIE = "bxo_order"
_ORDER_ID = re.compile(ORDER_ID)


def order_path(order_id: str) -> str:
    return f"/shop/orders/{order_id}"


class NotYours(Exception):
    """No such order, or not this browser's: both look the same."""


async def may_open(request: Request, order_id: str) -> None:
    """Raise NotYours unless this browser's account owns the order or it holds the token."""
    if not _ORDER_ID.match(order_id):
        raise NotYours()
    account = await signed_in(request)
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        owner = await session.scalar(select(Order.owner_sub).where(Order.id == order_id))
    if account is not None and owner is not None and owner == account.subject:
        return
    token = request.cookies.get(ORDER_COOKIE)
    if token and token_matches(request.app.state.order_token_secret, order_id, token):
        try:
            await check_guest_order(request, order_id)
        except HTTPException:
            raise NotYours() from None
        return
    raise NotYours()


def not_found(request: Request) -> Response:
    return render(
        request,
        "message.html",
        status_code=404,
        title=gettext(request, "Not found"),
        message=gettext(
            request,
            "There is nothing here. If this is your order, open it from the link in its email, "
            "or sign in with the account that bought it.",
        ),
    )
