"""What the Stripe emulator says was charged, read from its API rather than from our records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx

from boxoffice.core.settings import LOCAL_STRIPE_KEY


def succeeded_charges(stripe_base: str, order_ids: set[str], key: str = "order_id") -> Counter[str]:
    """Succeeded PaymentIntents per order, for the given orders (by the `key` metadata)."""
    paid: Counter[str] = Counter()
    for intent in _every(stripe_base, "/v1/payment_intents"):
        order_id = (intent.get("metadata") or {}).get(key)
        if intent["status"] == "succeeded" and order_id in order_ids:
            paid[order_id] += 1
    return paid


def refunds_per_order(stripe_base: str, order_ids: set[str]) -> Counter[str]:
    """Succeeded refunds per order, for the given orders (through their PaymentIntents)."""
    order_of = {
        intent["id"]: (intent.get("metadata") or {}).get("order_id")
        for intent in _every(stripe_base, "/v1/payment_intents")
    }
    refunded: Counter[str] = Counter()
    for refund in _every(stripe_base, "/v1/refunds"):
        order_id = order_of.get(refund.get("payment_intent"))
        if refund["status"] == "succeeded" and order_id in order_ids:
            refunded[order_id] += 1
    return refunded


def _every(stripe_base: str, path: str) -> Iterator[dict[str, Any]]:
    """Every object of a list endpoint, page by page."""
    params: dict[str, Any] = {"limit": 100}
    with httpx.Client(
        base_url=stripe_base, auth=(LOCAL_STRIPE_KEY, ""), timeout=60, trust_env=False
    ) as client:
        while True:
            page = client.get(path, params=params)
            page.raise_for_status()
            body = page.json()
            yield from body["data"]
            if not body.get("has_more") or not body["data"]:
                return
            params["starting_after"] = body["data"][-1]["id"]
