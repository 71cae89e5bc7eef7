"""Every route, for every kind of caller, on their own order and on another's: what it answers.

The routes come from the application itself, so a new route without a rule here fails.

Requests carry a body no route accepts (`{"unexpected": 1}`), so a caller who gets through the
access rules is answered 422 (or 200 for reads) and nothing changes, while a refused one gets
401, 403 or 404 from the access rules, which run before the body is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pytest

from boxoffice.app import create_app
from boxoffice.auth.order_tokens import order_token, order_token_secret
from tests.app.app_routes import route_entries
from tests.conftest import Stack
from tests.purchases import create_event, order_body, wait_for_status

Caller = Literal[
    "anonymous", "alice", "guest", "guest-in-url", "alice-token", "gate", "support", "admin"
]
#: `guest-in-url` sends the guest order's token as `?token=` instead of the header;
#: `alice-token` sends a genuine guest token made for Alice's (an account's) order.
CALLERS: tuple[Caller, ...] = (
    "anonymous",
    "alice",
    "guest",
    "guest-in-url",
    "alice-token",
    "gate",
    "support",
    "admin",
)
#: Callers that hold no bearer token: outside the order routes they are anonymous.
TOKENLESS: frozenset[Caller] = frozenset({"anonymous", "guest", "guest-in-url", "alice-token"})
#: How a route treats a caller: `ok` means the access rules let it through.
Expect = Literal["ok", 401, 403, 404]

PUBLIC: dict[Caller, Expect] = dict.fromkeys(CALLERS, "ok")


def staff(*roles: Caller) -> dict[Caller, Expect]:
    # A guest's order token opens its order only: elsewhere the guest is anonymous.
    return {c: "ok" if c in roles else (401 if c in TOKENLESS else 403) for c in CALLERS}


#: For routes about one order: (caller, whose order, the route) → answer. Alice owns `alice`'s
#: order through her token; the guest holds the access token of `guest`'s order. A token in
#: the URL opens only the tickets PDF (a link in the email); a guest token never opens an
#: account's order.
def order_rule(caller: Caller, owner: Literal["alice", "guest"], path: str) -> Expect:
    if caller in ("support", "admin") or caller == owner:
        return "ok"
    if caller == "guest-in-url":
        if not path.endswith("/tickets.pdf"):
            return 401
        return "ok" if owner == "guest" else 404
    return 401 if caller == "anonymous" else 404


#: The storefront's pages take no bearer or X-Order-Token: an order's pages open for the
#: browser holding its cookie (its account's session, or the guest's order cookie), which no
#: caller here has, so every caller gets the unknown order's 404; only the email's link
#: (?token= on the order page itself) gets in, to set that cookie. Their forms and the
#: checkout's payment need the page's CSRF token first, so a bare request is a 403.
#: tests/storefront/integration/test_page_access.py checks the cookies themselves.
def page_order_rule(caller: Caller, owner: Literal["alice", "guest"], path: str) -> Expect:
    if caller == "guest-in-url" and path == "/shop/orders/{order_id}":
        return "ok"  # a 303 to the page, with the order's cookie set
    return 404


PAGE_FORM: dict[Caller, Expect] = dict.fromkeys(CALLERS, 403)
ORDER = "order"
PAGE_ORDER = "page-order"
RULES: dict[tuple[str, str], dict[Caller, Expect] | str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/events"): PUBLIC,
    ("GET", "/events/{event_id}"): PUBLIC,
    ("POST", "/events"): staff("admin"),
    ("GET", "/admin/events/{event_id}"): staff("admin"),
    ("GET", "/events/{event_id}/report"): staff("admin"),
    ("PATCH", "/events/{event_id}"): staff("admin"),
    ("DELETE", "/events/{event_id}"): staff("admin"),
    ("POST", "/events/{event_id}/ticket-types"): staff("admin"),
    ("PATCH", "/events/{event_id}/ticket-types/{type_id}"): staff("admin"),
    ("POST", "/events/{event_id}/addons"): staff("admin"),
    ("PATCH", "/events/{event_id}/addons/{addon_id}"): staff("admin"),
    ("POST", "/events/{event_id}/cancel"): staff("admin"),
    ("GET", "/events/{event_id}/cancellation"): staff("admin"),
    ("POST", "/events/{event_id}/postpone"): staff("admin"),
    ("POST", "/orders"): PUBLIC,  # guest checkout
    ("GET", "/orders/{order_id}"): ORDER,
    ("POST", "/orders/{order_id}/payment"): ORDER,
    ("POST", "/orders/{order_id}/cancel"): ORDER,
    ("GET", "/orders/{order_id}/tickets.pdf"): ORDER,
    ("POST", "/webhooks/stripe"): PUBLIC,  # Stripe's signature is its credential
    ("POST", "/tickets/validate"): staff("gate", "admin"),
    ("GET", "/events/{event_id}/gate-bundle"): staff("gate", "admin"),
    ("POST", "/events/{event_id}/scans"): staff("gate", "admin"),
    ("GET", "/events/{event_id}/checkins"): staff("gate", "support", "admin"),
    ("GET", "/admin/orders"): staff("support", "admin"),
    ("GET", "/admin/orders/{order_id}"): staff("support", "admin"),
    ("POST", "/admin/orders/bulk/{action}"): staff("support", "admin"),
    ("POST", "/admin/orders/{order_id}/retry"): staff("support", "admin"),
    ("POST", "/admin/orders/{order_id}/cancel"): staff("support", "admin"),
    ("POST", "/admin/orders/{order_id}/refund"): staff("support", "admin"),
    ("POST", "/admin/orders/{order_id}/resend"): staff("support", "admin"),
    ("POST", "/admin/orders/{order_id}/extend"): staff("support", "admin"),
    ("POST", "/codec/decode"): staff("support", "admin"),
    ("POST", "/codec/encode"): staff("support", "admin"),
    ("OPTIONS", "/codec/decode"): PUBLIC,  # a CORS preflight carries no credentials
    ("OPTIONS", "/codec/encode"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/shop"): PUBLIC,
    ("GET", "/shop/events/{event_id}"): PUBLIC,
    ("POST", "/shop/events/{event_id}/reserve"): PAGE_FORM,
    ("GET", "/shop/orders/{order_id}"): PAGE_ORDER,
    ("GET", "/shop/orders/{order_id}/status"): PAGE_ORDER,
    ("GET", "/shop/orders/{order_id}/checkout"): PAGE_ORDER,
    ("GET", "/shop/orders/{order_id}/tickets.pdf"): PAGE_ORDER,
    ("POST", "/shop/orders/{order_id}/pay"): PAGE_FORM,
    ("POST", "/shop/orders/{order_id}/cancel"): PAGE_FORM,
    ("GET", "/shop/account"): PUBLIC,  # signed out: to the sign-in page
    ("GET", "/shop/account/sign-up"): PUBLIC,
    ("POST", "/shop/account/sign-up"): PAGE_FORM,
    ("GET", "/shop/account/sign-in"): PUBLIC,
    ("POST", "/shop/account/sign-in/link"): PAGE_FORM,
    ("POST", "/shop/account/sign-in/password"): PAGE_FORM,
    ("GET", "/shop/account/link/{token}"): PUBLIC,
    ("POST", "/shop/account/link"): PAGE_FORM,
    ("POST", "/shop/account/sign-out"): PAGE_FORM,
    ("POST", "/shop/account/password"): PAGE_FORM,
}


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the app serves."""
    return {
        (method, entry.path)
        for entry in route_entries(create_app())
        for method in getattr(entry, "methods", None) or ()
        if method != "HEAD"
    }


def test_every_route_has_an_access_rule() -> None:
    missing = app_routes() - set(RULES)
    assert not missing, f"routes without an access rule in this test: {sorted(missing)}"
    stale = set(RULES) - app_routes()
    assert not stale, f"rules for routes that no longer exist: {sorted(stale)}"


@dataclass
class World:
    headers: dict[Caller, dict[str, str]]
    guest_token_of: dict[str, str]
    orders: dict[str, str]  # owner → order id
    event_id: str
    type_id: str


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
    async with stack.http() as http:
        event = await create_event(http)
    alice_token = stack.token("alice")
    async with stack.http(token=alice_token) as alice:
        created = await alice.post("/orders", json=order_body(event, 1, "pm_card_visa"))
        assert created.status_code == 201, created.text
        alice_order = created.json()
    async with stack.http(token=None) as guest:
        created = await guest.post("/orders", json=order_body(event, 1, "pm_card_visa"))
        assert created.status_code == 201, created.text
        guest_order = created.json()
    async with stack.http() as http:
        for order in (alice_order, guest_order):
            await wait_for_status(http, order["id"], "completed")
    bearer = {
        role: {"Authorization": f"Bearer {stack.token(f'{role}-1', role)}"}
        for role in ("gate", "support", "admin")
    }
    return World(
        headers={
            "anonymous": {},
            "alice": {"Authorization": f"Bearer {alice_token}"},
            "guest": {"X-Order-Token": guest_order["access_token"]},
            "guest-in-url": {},
            "alice-token": {
                "X-Order-Token": order_token(order_token_secret(stack.settings), alice_order["id"])
            },
            "gate": bearer["gate"],
            "support": bearer["support"],
            "admin": bearer["admin"],
        },
        guest_token_of={guest_order["id"]: guest_order["access_token"]},
        orders={"alice": alice_order["id"], "guest": guest_order["id"]},
        event_id=event["id"],
        type_id=event["ticket_types"][0]["id"],
    )


def _cases() -> list[Any]:
    cases = []
    for (method, path), rule in sorted(RULES.items()):
        per_order = rule in (ORDER, PAGE_ORDER)
        owners: tuple[str | None, ...] = ("alice", "guest") if per_order else (None,)
        for owner in owners:
            for caller in CALLERS:
                by_order = order_rule if rule == ORDER else page_order_rule
                expect = (
                    by_order(caller, owner, path)  # type: ignore[arg-type]
                    if owner is not None
                    else rule[caller]  # type: ignore[index]
                )
                label = f"{method} {path} {caller}" + (f" on {owner}'s order" if owner else "")
                cases.append(pytest.param(method, path, caller, owner, expect, id=label))
    return cases


@pytest.mark.parametrize(("method", "path", "caller", "owner", "expect"), _cases())
async def test_access(
    stack: Stack,
    world: World,
    method: str,
    path: str,
    caller: Caller,
    owner: str | None,
    expect: Expect,
) -> None:
    order_id = world.orders[owner or "alice"]
    url = (
        path.replace("{order_id}", order_id)
        .replace("{event_id}", world.event_id)
        .replace("{action}", "retry")
        .replace("{type_id}", world.type_id)
        .replace("{addon_id}", "00000000-0000-4000-8000-000000000000")
        .replace("{token}", "not-a-link")
    )
    async with httpx.AsyncClient(base_url=stack.api_url, trust_env=False, timeout=60) as http:
        in_url = caller == "guest-in-url"
        response = await http.request(
            method,
            url,
            params={"token": world.guest_token_of[world.orders["guest"]]} if in_url else None,
            headers=world.headers[caller],
            follow_redirects=False,
            json={"unexpected": 1} if method in ("POST", "PATCH") else None,
        )
    if expect == "ok":
        assert response.status_code not in (401, 403), response.text
        if response.status_code == 404:
            assert "No order with id" not in response.text, response.text
        assert response.status_code < 500, response.text
    else:
        assert response.status_code == expect, response.text
        if expect == 401:
            assert response.headers["WWW-Authenticate"] == "Bearer"
