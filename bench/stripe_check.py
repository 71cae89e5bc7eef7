"""What the Stripe emulator says was charged, read from its API rather than from our records."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from boxoffice.core.settings import LOCAL_STRIPE_KEY


def succeeded_charges(stripe_base: str, order_ids: set[str]) -> Counter[str]:
    """Succeeded PaymentIntents per order, for the given orders (by the order_id metadata)."""
    paid: Counter[str] = Counter()
    params: dict[str, Any] = {"limit": 100}
    with httpx.Client(
        base_url=stripe_base, auth=(LOCAL_STRIPE_KEY, ""), timeout=60, trust_env=False
    ) as client:
        while True:
            page = client.get("/v1/payment_intents", params=params)
            page.raise_for_status()
            body = page.json()
            for intent in body["data"]:
                order_id = (intent.get("metadata") or {}).get("order_id")
                if intent["status"] == "succeeded" and order_id in order_ids:
                    paid[order_id] += 1
            if not body.get("has_more") or not body["data"]:
                return paid
            params["starting_after"] = body["data"][-1]["id"]
