"""The workflow tier's outside world: every activity faked by name (`Fakes`), with the order
they serve (one buyer, one type, two seats) and the failures they raise.

The fakes record each call (name and payload, in order) and answer from a script, so a test
states what the outside world does and asserts what the workflow asked of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from boxoffice.orders.messages import (
    Buyer,
    Done,
    EmailSent,
    HoldExpiryChange,
    IssuedTicket,
    IssuedTickets,
    OrderItem,
    OrderRef,
    PayInput,
    PayResult,
    RefundInput,
    RefundResult,
    ReleaseInput,
    ReleaseResult,
    ResendInput,
    ReservedLine,
    ReserveInput,
    ReserveResult,
    SettleInput,
    StatusChange,
    StoredDocument,
    StrayPayment,
    StrayPaymentResult,
)

EVENT_ID = "evt-1"
BUYER = Buyer(email="ada@example.com", name="Ada Lovelace")
ITEMS = [OrderItem(ticket_type_id="tt-general", quantity=2)]
UNIT_PRICE = 2500
TOTAL = UNIT_PRICE * 2
SEATS = 2
DECLINE_REASON = "Your card was declined."
VISA = "pm_card_visa"
FULFILMENT = ["issue_tickets", "store_tickets_pdf", "email_tickets"]


def declined(reason: str = DECLINE_REASON) -> ApplicationError:
    """What charge_payment raises when Stripe declines the card."""
    return ApplicationError(reason, type="CardDeclined", non_retryable=True)


def outage(what: str) -> ApplicationError:
    """A retryable failure: the outside system is away."""
    return ApplicationError(f"{what} is unavailable", type="ServiceUnavailable")


@dataclass
class Call:
    name: str
    arg: Any


class Fakes:
    """Every activity of the pipeline, registered under its real name."""

    def __init__(self, now: datetime) -> None:
        self.calls: list[Call] = []
        # Fake activities running now (a test ending with one in flight waits for it).
        self.running = 0
        self.sold_out = False
        # When set, reserve_seats raises it (e.g. a non-retryable InvalidOrder).
        self.reserve_error: ApplicationError | None = None
        # Times relative to the test server's clock when the test began.
        self.refund_deadline = now + timedelta(hours=1)
        self.event_starts_at = now + timedelta(hours=2)
        # Scripted answers, taken in order; when empty, a payment succeeds.
        self.charges: list[PayResult | ApplicationError] = []
        self.settles: list[PayResult] = []
        # Fulfilment steps that fail (retryably) on every attempt while listed.
        self.failing: set[str] = set()
        self.checked_in = False
        # When set, the activity waits for the gate before answering.
        self.charge_gate: asyncio.Event | None = None
        self.refund_gate: asyncio.Event | None = None
        # When set, refund_payment raises it (Stripe refusing the refund).
        self.refund_error: ApplicationError | None = None
        self.release_gate: asyncio.Event | None = None
        self.email_gate: asyncio.Event | None = None
        # When set, reserve_seats waits for it (the API still taking the seats).
        self.reserve_gate: asyncio.Event | None = None
        # reserve_seats fails (retryably: the database away) this many times first.
        self.reserve_outages = 0

    # --- what happened --------------------------------------------------------------------

    def names(self) -> list[str]:
        return [call.name for call in self.calls]

    def args(self, name: str) -> list[Any]:
        return [call.arg for call in self.calls if call.name == name]

    def count(self, name: str) -> int:
        return len(self.args(name))

    def _record(self, name: str, arg: Any) -> None:
        self.calls.append(Call(name, arg))

    async def _gate(self, gate: asyncio.Event | None) -> None:
        if gate is None:
            return
        self.running += 1
        try:
            await gate.wait()
        finally:
            self.running -= 1

    async def open_gates(self) -> None:
        """Let gated fakes answer, and wait (briefly) until they have. The test server keeps
        its clock locked for an activity whose run is terminated mid-flight, which would stall
        every later test's timers."""
        if self.running == 0:
            return
        for gate in (
            self.charge_gate,
            self.refund_gate,
            self.release_gate,
            self.reserve_gate,
            self.email_gate,
        ):
            if gate is not None:
                gate.set()
        for _ in range(100):
            if self.running == 0:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # the worker reports the answer

    def activities(self) -> Sequence[Callable[..., Any]]:
        return [
            self.reserve_seats,
            self.release_seats,
            self.record_status,
            self.record_hold_expiry,
            self.charge_payment,
            self.settle_payment,
            self.refund_payment,
            self.refund_stray_payment,
            self.issue_tickets,
            self.void_tickets,
            self.store_tickets_pdf,
            self.email_tickets,
            self.resend_tickets_email,
        ]

    # --- inventory ------------------------------------------------------------------------

    @activity.defn(name="reserve_seats")
    async def reserve_seats(self, request: ReserveInput) -> ReserveResult:
        self._record("reserve_seats", request)
        await self._gate(self.reserve_gate)
        if self.reserve_outages > 0:
            self.reserve_outages -= 1
            raise ApplicationError("the database is away", type="OperationalError")
        if self.reserve_error is not None:
            raise self.reserve_error
        if self.sold_out:
            return ReserveResult(reserved=False, reason="Not enough seats left.")
        return ReserveResult(
            reserved=True,
            total_amount=TOTAL,
            currency="eur",
            lines=[ReservedLine("tt-general", "General admission", SEATS, UNIT_PRICE)],
            hold_expires_at=request.hold_expires_at,
            refund_deadline=self.refund_deadline,
            event_starts_at=self.event_starts_at,
        )

    @activity.defn(name="release_seats")
    async def release_seats(self, request: ReleaseInput) -> ReleaseResult:
        self._record("release_seats", request)
        await self._gate(self.release_gate)
        return ReleaseResult(seats_released=SEATS)

    @activity.defn(name="record_status")
    async def record_status(self, change: StatusChange) -> Done:
        self._record("record_status", change)
        return Done()

    @activity.defn(name="record_hold_expiry")
    async def record_hold_expiry(self, change: HoldExpiryChange) -> Done:
        self._record("record_hold_expiry", change)
        return Done()

    # --- payments -------------------------------------------------------------------------

    @activity.defn(name="charge_payment")
    async def charge_payment(self, request: PayInput) -> PayResult:
        self._record("charge_payment", request)
        await self._gate(self.charge_gate)
        outcome = (
            self.charges.pop(0)
            if self.charges
            else PayResult(status="succeeded", payment_intent_id=f"pi_{request.attempt}")
        )
        if isinstance(outcome, ApplicationError):
            raise outcome
        return outcome

    @activity.defn(name="settle_payment")
    async def settle_payment(self, request: SettleInput) -> PayResult:
        self._record("settle_payment", request)
        if self.settles:
            return self.settles.pop(0)
        return PayResult(status="succeeded", payment_intent_id=f"pi_{request.attempt}")

    @activity.defn(name="refund_payment")
    async def refund_payment(self, request: RefundInput) -> RefundResult:
        self._record("refund_payment", request)
        await self._gate(self.refund_gate)
        if self.refund_error is not None:
            raise self.refund_error
        return RefundResult(refund_id="re_1", amount=TOTAL)

    @activity.defn(name="refund_stray_payment")
    async def refund_stray_payment(self, stray: StrayPayment) -> StrayPaymentResult:
        self._record("refund_stray_payment", stray)
        return StrayPaymentResult(
            outcome="refunded", refund_id=f"re_{stray.payment_intent_id}", amount=TOTAL
        )

    # --- fulfilment -----------------------------------------------------------------------

    def _maybe_fail(self, name: str) -> None:
        if name in self.failing:
            raise outage(f"the service behind {name}")

    @activity.defn(name="issue_tickets")
    async def issue_tickets(self, ref: OrderRef) -> IssuedTickets:
        self._record("issue_tickets", ref)
        self._maybe_fail("issue_tickets")
        return IssuedTickets(
            [IssuedTicket(f"t-{i}", "tt-general", i, f"code-{i}") for i in range(SEATS)]
        )

    @activity.defn(name="store_tickets_pdf")
    async def store_tickets_pdf(self, ref: OrderRef) -> StoredDocument:
        self._record("store_tickets_pdf", ref)
        self._maybe_fail("store_tickets_pdf")
        return StoredDocument(key=f"tickets/{ref.order_id}.pdf")

    @activity.defn(name="email_tickets")
    async def email_tickets(self, ref: OrderRef) -> EmailSent:
        self._record("email_tickets", ref)
        await self._gate(self.email_gate)
        self._maybe_fail("email_tickets")
        return EmailSent(message_id=f"<{ref.order_id}@boxoffice>", recipient=BUYER.email)

    @activity.defn(name="resend_tickets_email")
    async def resend_tickets_email(self, request: ResendInput) -> EmailSent:
        self._record("resend_tickets_email", request)
        return EmailSent(
            message_id=f"<tickets.{request.order_id}.resend{request.sequence}@boxoffice>",
            recipient=request.to or BUYER.email,
        )

    @activity.defn(name="void_tickets")
    async def void_tickets(self, ref: OrderRef) -> Done:
        self._record("void_tickets", ref)
        if self.checked_in:
            raise ApplicationError(
                f"order {ref.order_id} has 1 checked-in ticket(s)",
                type="TicketCheckedIn",
                non_retryable=True,
            )
        return Done()
