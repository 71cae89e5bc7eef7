"""The order's run input: who buys what, and the timeouts and limits it runs with."""

# No `from __future__ import annotations` here: workflow code imports the package, so the
# workflow sandbox knows the package but not this module, and string hints would not resolve.

from dataclasses import dataclass, field

from boxoffice.auth.buyer_identity import buyer_key

#: Fixed update id of the reservation, so a retried create attaches to the first answer.
RESERVATION_UPDATE_ID = "reservation"


@dataclass
class OrderItem:
    ticket_type_id: str
    quantity: int


@dataclass
class AddonItem:
    """An add-on (parking, a voucher) bought with the order's tickets."""

    addon_id: str
    quantity: int


@dataclass
class Buyer:
    email: str
    name: str
    # The token subject that placed the order; None for a guest. It owns the order and is
    # whose per-event ticket cap the order counts against (with the email and the card).
    account: str | None = None
    # The client's network, as a keyed hash (`auth/buyer_identity.py`): whose unpaid holds
    # the order counts against. None for orders created before it was counted.
    client: str | None = None

    @property
    def cap_key(self) -> str:
        return buyer_key(self.account, self.email)


@dataclass
class PipelineConfig:
    """Timeouts and retry policies, taken from settings when the order starts so the workflow
    itself reads no environment (and tests run with short ones)."""

    hold_seconds: int = 900
    payment_timeout_seconds: int = 30
    step_timeout_seconds: int = 60
    step_max_attempts: int = 5
    retry_initial_interval_seconds: float = 1.0
    retry_max_interval_seconds: float = 60.0
    order_grace_seconds: int = 7 * 24 * 3600
    payments_task_queue: str = "payments"
    fulfilment_task_queue: str = "fulfilment"
    # Support may lengthen a hold by at most this much in all.
    max_hold_extension_seconds: int = 3600
    # The hold first lasts this long, and hold_seconds once a card is tried; 0 (runs from
    # before): hold_seconds at once.
    first_hold_seconds: int = 0
    # Payment attempts the order may make in all; 0 (runs from before): no limit.
    max_payment_attempts: int = 0

    def first_hold(self) -> int:
        """Seconds the hold first lasts: the reservation's expiry, whoever makes it (the API or
        the order's run)."""
        first = self.first_hold_seconds
        return min(first, self.hold_seconds) if first else self.hold_seconds


@dataclass
class PurchaseInput:
    order_id: str
    event_id: str
    items: list[OrderItem]
    buyer: Buyer
    payment_method: str | None = None
    request_fingerprint: str | None = None
    config: PipelineConfig = field(default_factory=PipelineConfig)
    # Runs from before add-ons were sold have none.
    addons: list[AddonItem] = field(default_factory=list)
