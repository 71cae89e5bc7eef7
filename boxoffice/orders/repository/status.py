"""Which status may follow which. Activities move an order row only along these arrows (a
conditional UPDATE), so a retried or late activity never moves an order backwards."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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


async def move_order_status(
    session: AsyncSession,
    order_id: str,
    status: str,
    error: str | None = None,
    *,
    keep_error: bool = False,
) -> bool:
    """Move the order's row to `status` if its current status allows it; False when it did not.

    `error` becomes the row's last error; with `keep_error`, a None leaves the previous one
    (e.g. a release after needs_attention keeps why the order got stuck)."""
    last_error = "COALESCE(:error, last_error)" if keep_error else ":error"
    result = await session.execute(
        text(
            f"UPDATE orders SET status = :status, updated_at = now(), last_error = {last_error}"
            " WHERE id = :id AND status = ANY(:allowed) RETURNING id"
        ),
        {"status": status, "error": error, "id": order_id, "allowed": list(allowed_from(status))},
    )
    return result.first() is not None
