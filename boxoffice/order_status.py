"""Which status may follow which. Activities move an order row only along these arrows (a
conditional UPDATE), so a retried or late activity never moves an order backwards."""

from __future__ import annotations

#: target status -> statuses it may be reached from.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "paying": ("reserved", "paying"),
    # A declined attempt leaves the order reserved so the buyer can try another card.
    "reserved": ("paying",),
    # needs_attention -> paid: support retried a failed step of a paid order.
    "paid": ("reserved", "paying", "needs_attention"),
    "completed": ("paid", "needs_attention"),
    "needs_attention": ("reserved", "paying", "paid"),
    "expired": ("reserved", "paying", "needs_attention"),
    "cancelled": ("reserved", "paying", "needs_attention"),
    "refunded": ("paid", "completed", "needs_attention"),
}


def allowed_from(target: str) -> tuple[str, ...]:
    try:
        return ALLOWED_FROM[target]
    except KeyError:
        raise ValueError(f"no order may move to status {target!r}") from None
