"""Limits counted like seats, by conditional SQL in the caller's transaction.

Two kinds of count, both in `limit_counters` (one row per key) with each order's share in
`order_limit_counts` (one row per order and key), so counting and letting go happen once
however often an activity is retried:

- **paid tickets per event** (`MAX_TICKETS_PER_BUYER_PER_EVENT`), under every name a buyer goes
  by: the account, the mailbox (`buyer_identity.normalised_email`) and the card's fingerprint.
  Counted when a payment starts, not with the hold: unpaid holds under someone else's address
  would otherwise use up that person's cap. Let go when the payment is declined or the order
  ends (expired, cancelled, refunded).
- **unpaid tickets per client network** (`MAX_UNPAID_TICKETS_PER_CLIENT`), across events:
  counted with the hold, let go once it is paid or ends, so nobody sweeps an event into carts.

Keys are taken in sorted order, after any seats, the lock order everywhere, so two
transactions never deadlock."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.auth.buyer_identity import normalised_email

_CLAIM = text(
    "INSERT INTO order_limit_counts (order_id, key, amount, until_paid)"
    " VALUES (:order, :key, :n, :until_paid) ON CONFLICT DO NOTHING RETURNING order_id"
)
_COUNT = text(
    "INSERT INTO limit_counters AS c (key, used) VALUES (:key, :n)"
    " ON CONFLICT (key) DO UPDATE SET used = c.used + :n WHERE c.used + :n <= :cap"
    " RETURNING used"
)
_USED = text("SELECT used FROM limit_counters WHERE key = :key")


def paid_keys(
    event_id: object, *, account: str | None, email: str | None, card: str | None = None
) -> list[str]:
    """The names under which a buyer's paid tickets for one event are counted."""
    names = []
    if account:
        names.append(f"sub:{account}")
    if email:
        names.append(f"email:{normalised_email(email)}")
    if card:
        names.append(f"card:{card}")
    return [f"event:{event_id}:{name}" for name in names]


def unpaid_key(client: str) -> str:
    return f"unpaid:{client}"


async def count(
    session: AsyncSession,
    order_id: str,
    keys: Iterable[str],
    amount: int,
    cap: int,
    *,
    until_paid: bool,
) -> str | None:
    """Count the order's `amount` under each key, unless that takes a key past `cap`: then
    the key that refused (the caller rolls back, which undoes the keys counted before it).
    A key the order is already counted under is left as it is."""
    ordered = sorted(set(keys))
    if ordered and amount > cap:
        return ordered[0]
    for key in ordered:
        claimed = await session.execute(
            _CLAIM, {"order": order_id, "key": key, "n": amount, "until_paid": until_paid}
        )
        if claimed.first() is None:
            continue
        taken = await session.execute(_COUNT, {"key": key, "n": amount, "cap": cap})
        if taken.first() is None:
            return key
    return None


async def used(session: AsyncSession, key: str) -> int:
    return int(await session.scalar(_USED, {"key": key}) or 0)


async def let_go(session: AsyncSession, order_id: str, *, paid: bool, unpaid: bool) -> None:
    """Give back the order's counts of the kinds asked for (paid: per-buyer tickets; unpaid:
    its hold's count for the client network)."""
    kinds = [kind for kind, wanted in ((False, paid), (True, unpaid)) if wanted]
    if not kinds:
        return
    released = await session.execute(
        text(
            "DELETE FROM order_limit_counts WHERE order_id = :order"
            " AND until_paid = ANY(:kinds) RETURNING key, amount"
        ),
        {"order": order_id, "kinds": kinds},
    )
    for key, amount in sorted(released.all()):
        await session.execute(
            text("UPDATE limit_counters SET used = GREATEST(used - :n, 0) WHERE key = :key"),
            {"n": amount, "key": key},
        )
