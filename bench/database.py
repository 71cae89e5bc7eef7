"""What Postgres says after a scenario: seats, order statuses, when orders finished."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg


@contextlib.asynccontextmanager
async def connect(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        yield conn


async def scalar(conn: psycopg.AsyncConnection[Any], sql: str, *args: Any) -> Any:
    row = await (await conn.execute(sql, args)).fetchone()
    return row[0] if row else None


async def statuses(conn: psycopg.AsyncConnection[Any], event_ids: Sequence[str]) -> dict[str, int]:
    rows = await (
        await conn.execute(
            "SELECT status, count(*) FROM orders WHERE event_id::text = ANY(%s) GROUP BY status",
            (list(event_ids),),
        )
    ).fetchall()
    return {str(status): int(count) for status, count in rows}


async def seats(conn: psycopg.AsyncConnection[Any], event_ids: Sequence[str]) -> dict[str, int]:
    """Capacity, seats available, seats in unreleased holds."""
    row = await (
        await conn.execute(
            "SELECT coalesce(sum(capacity), 0), coalesce(sum(available), 0),"
            " (SELECT coalesce(sum(h.quantity), 0) FROM holds h JOIN orders o ON o.id = h.order_id"
            "  WHERE o.event_id::text = ANY(%s) AND h.released_at IS NULL)"
            " FROM ticket_types WHERE event_id::text = ANY(%s)",
            (list(event_ids), list(event_ids)),
        )
    ).fetchone()
    assert row is not None
    return {"capacity": int(row[0]), "available": int(row[1]), "held": int(row[2])}


async def finished_at(
    conn: psycopg.AsyncConnection[Any], order_ids: Sequence[str], status: str
) -> list[float]:
    """Epoch seconds at which each of these orders reached `status` (its last update)."""
    rows = await (
        await conn.execute(
            "SELECT extract(epoch FROM updated_at) FROM orders WHERE id = ANY(%s) AND status = %s",
            (list(order_ids), status),
        )
    ).fetchall()
    return [float(r[0]) for r in rows]
