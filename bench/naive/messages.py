"""What the naive workflow and its activities pass each other: plain dataclasses, encoded by the
SDK's default JSON converter (no codec)."""

from __future__ import annotations

from dataclasses import dataclass, field

TASK_QUEUE = "bench-naive"
#: The worker prints this once it polls (the harness waits for it).
READY = "naive worker serving"
#: The PaymentIntent metadata naming a naive order.
NAIVE_ORDER_KEY = "naive_order_id"


@dataclass
class Purchase:
    """One buyer's whole purchase, given when the workflow starts (its id is the order's)."""

    order_id: str
    ticket_type_id: str
    quantity: int
    buyer_email: str
    buyer_name: str
    payment_method: str


@dataclass
class Reserved:
    order_id: str
    event_id: str
    event_name: str
    venue: str
    #: ISO 8601, so the default converter carries it as text.
    starts_at: str
    ticket_type_id: str
    ticket_type: str
    quantity: int
    unit_price: int
    currency: str
    buyer_email: str
    buyer_name: str


@dataclass
class Charge:
    order_id: str
    amount: int
    currency: str
    payment_method: str


@dataclass
class Tickets:
    reserved: Reserved
    codes: list[str] = field(default_factory=list)
    ticket_ids: list[str] = field(default_factory=list)


@dataclass
class Stored:
    reserved: Reserved
    pdf_key: str
    ticket_count: int
