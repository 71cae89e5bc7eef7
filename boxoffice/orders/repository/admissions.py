"""The one way an order's admission ends: its rows in `admissions` (see
`orders/admission/control.py`) are deleted, by the reservation that decided it or by the API
when no reservation will come."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_END = text("DELETE FROM admissions WHERE order_id = :order")


async def end_admission(session: AsyncSession, order_id: str) -> None:
    """The order's admitted seats count against other buyers no more (the caller commits)."""
    await session.execute(_END, {"order": order_id})
