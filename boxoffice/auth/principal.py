"""The caller, as a verified token describes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StaffRole = Literal["admin", "support", "gate"]
STAFF_ROLES: tuple[StaffRole, ...] = ("admin", "support", "gate")
#: Roles that see every order. Gate staff see tickets at the door, not orders.
ORDER_STAFF: frozenset[str] = frozenset({"admin", "support"})


@dataclass(frozen=True)
class Principal:
    """A verified caller: `subject` owns the orders it creates; `roles` are its staff roles
    (none for a buyer)."""

    subject: str
    roles: frozenset[str]

    def has_any(self, roles: frozenset[str] | set[str]) -> bool:
        return bool(self.roles & roles)

    @property
    def sees_all_orders(self) -> bool:
        return self.has_any(ORDER_STAFF)
