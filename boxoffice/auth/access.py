"""Who may call what: bearer tokens, roles, order ownership, guest order tokens, rate limits.

Route-level rules refuse a caller without the role with `403` (or `401` without a token). An
order someone may not see is answered `404`, exactly like an order that does not exist, so ids
cannot be probed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.auth.order_tokens import token_matches
from boxoffice.auth.principal import Principal
from boxoffice.auth.rate_limit import RateLimiter
from boxoffice.auth.tokens import InvalidToken, TokenVerifier
from boxoffice.core.database.models import Event, Order
from boxoffice.core.http.fields import ErrorBody
from boxoffice.orders.schemas import OrderIdPath

_bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from the configured issuer (`boxoffice token` mints one in dev).",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}

#: What every protected route may answer besides its own statuses (documented in OpenAPI).
STAFF_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "No bearer token, or an invalid one"},
    403: {"model": ErrorBody, "description": "The token lacks the role this route needs"},
}
ORDER_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "Neither an order token nor a bearer token"},
    404: {"model": ErrorBody, "description": "No such order, or not yours"},
}
RATE_LIMITED: dict[int | str, dict[str, object]] = {
    429: {"model": ErrorBody, "description": "Too many requests; see Retry-After"},
}


#: The bearer token as sent, unverified: for a route that decides what to verify when
#: (`optional_principal` verifies it); declares the route's security in OpenAPI all the same.
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def optional_principal(request: Request, credentials: BearerCredentials) -> Principal | None:
    """The verified caller, None without a bearer token; a bad token is always a 401."""
    if credentials is None:
        return None
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidToken as invalid:
        raise HTTPException(401, f"Invalid bearer token: {invalid}.", headers=_CHALLENGE) from None


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers with any of `roles` (401 without a token, 403 without
    the role)."""
    wanted = frozenset(roles)

    async def check(principal: OptionalPrincipal) -> Principal:
        if principal is None:
            raise HTTPException(401, "This route needs a bearer token.", headers=_CHALLENGE)
        if not principal.has_any(wanted):
            raise HTTPException(403, f"This route is for: {', '.join(sorted(wanted))}.")
        return principal

    return check


#: A guest order's access token, as POST /orders returned it.
OrderTokenHeader = Annotated[
    str | None, Header(max_length=200, description="The access_token POST /orders returned.")
]


async def order_access(
    order_id: OrderIdPath,
    request: Request,
    principal: OptionalPrincipal,
    x_order_token: OrderTokenHeader = None,
) -> Principal | None:
    """Admit support and admin, the order's owner, or a holder of its guest token (in the
    X-Order-Token header); anyone else learns nothing (404, as for an unknown order).

    A token in the URL is refused here: URLs end up in logs and browser histories, so only the
    read-only PDF link, which the tickets email carries, takes one."""
    if "token" in request.query_params and x_order_token is None and principal is None:
        raise HTTPException(
            401,
            "Send the order's access token in the X-Order-Token header; ?token= works only in "
            "the tickets PDF link.",
            headers=_CHALLENGE,
        )
    return await _admit(order_id, request, principal, x_order_token)


async def order_link_access(
    order_id: OrderIdPath,
    request: Request,
    principal: OptionalPrincipal,
    x_order_token: OrderTokenHeader = None,
    token: Annotated[
        str | None,
        Query(max_length=200, description="The same, for the link in the tickets email."),
    ] = None,
) -> Principal | None:
    """As `order_access`, and the token may come in the URL: the tickets PDF is a link in an
    email, and it only reads."""
    return await _admit(order_id, request, principal, x_order_token or token)


async def _admit(
    order_id: str, request: Request, principal: Principal | None, guest_token: str | None
) -> Principal | None:
    if principal is not None and principal.sees_all_orders:
        return principal
    if guest_token is not None:
        if not token_matches(request.app.state.order_token_secret, order_id, guest_token):
            raise _no_such_order(order_id)
        await check_guest_order(request, order_id)
        return principal
    if principal is None:
        raise HTTPException(
            401,
            "Send the order's access token (X-Order-Token) or a bearer token.",
            headers=_CHALLENGE,
        )
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        owner = await session.scalar(select(Order.owner_sub).where(Order.id == order_id))
    if owner is None or owner != principal.subject:
        raise _no_such_order(order_id)
    return principal


async def check_guest_order(request: Request, order_id: str) -> None:
    """A guest token opens a guest's order only, and only until its event is over (when the
    order's run closes too): after that it is a leaked link, not a buyer."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        found = (
            await session.execute(
                select(Order.owner_sub, Event.starts_at)
                .join(Event, Event.id == Order.event_id)
                .where(Order.id == order_id)
            )
        ).one_or_none()
    if found is None:
        return  # not reserved yet (202): the token is the order's all the same
    owner, starts_at = found
    if owner is not None:
        # An account's order is opened by the account: a guest token never came with it.
        raise _no_such_order(order_id)
    settings = request.app.state.settings
    lapsed_at = starts_at + timedelta(seconds=settings.order_grace_seconds)
    if datetime.now(UTC) >= lapsed_at:
        raise HTTPException(
            401,
            f"This order's access token lapsed at {lapsed_at.isoformat()}, after its event.",
            headers=_CHALLENGE,
        )


def _no_such_order(order_id: str) -> HTTPException:
    return HTTPException(404, f"No order with id {order_id}.")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def enforce_rate_limit(request: Request, key: str, limit: int) -> None:
    """429 with Retry-After once `key` passed `limit` requests in the current window."""
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = await limiter.hit(key, limit)
    if wait is not None:
        raise HTTPException(
            429,
            "Too many requests; try again in a moment.",
            headers={"Retry-After": str(wait)},
        )


async def limit_validations(request: Request, principal: OptionalPrincipal) -> None:
    who = f"sub:{principal.subject}" if principal else f"ip:{client_address(request)}"
    settings = request.app.state.settings
    await enforce_rate_limit(request, f"validate:{who}", settings.rate_limit_validations_per_client)
