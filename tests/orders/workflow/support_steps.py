"""Steps the support-update tests share: support's actor, its hold extension and its action
with a reason, a completed order, and moving the test server's clock to a moment."""

from __future__ import annotations

from datetime import datetime

from boxoffice.orders.messages import (
    ExtendHold,
    SupportAction,
)

from .harness import (
    VISA,
    Harness,
    PurchaseHandle,
)

SUPPORT = "support:grace"


def extend(minutes: int, reason: str = "buyer on the phone") -> ExtendHold:
    return ExtendHold(actor=SUPPORT, reason=reason, minutes=minutes)


def action(reason: str) -> SupportAction:
    return SupportAction(actor=SUPPORT, reason=reason)


async def sleep_until(harness: Harness, when: datetime) -> None:
    await harness.env.sleep(when - await harness.env.get_current_time())


async def completed_order(harness: Harness, path: str) -> tuple[str, PurchaseHandle]:
    order_id = harness.new_order_id(path)
    _, handle = await harness.create(order_id, payment_method=VISA)
    await harness.wait_for_status(handle, "completed")
    return order_id, handle
