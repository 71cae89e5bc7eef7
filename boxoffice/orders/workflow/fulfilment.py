"""After payment: issue the tickets, store their PDF, email it; a step that fails for good
waits for support. Then the order stays open until its event is over, for refunds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from boxoffice.core.temporal import search_attributes as sa
    from boxoffice.orders.activities.documents import DocumentActivities
    from boxoffice.orders.activities.email import EmailActivities
    from boxoffice.orders.activities.tickets import TicketActivities
    from boxoffice.orders.domain import OrderStatus
    from boxoffice.orders.messages import OrderRef
    from boxoffice.orders.workflow import activity_options as options
    from boxoffice.orders.workflow.compensation import cause_message
    from boxoffice.orders.workflow.hold import HoldSteps

#: The steps after payment, by the names the status query shows, in order.
STEPS: tuple[tuple[str, Callable[[Any, OrderRef], Awaitable[Any]]], ...] = (
    ("issue_tickets", TicketActivities.issue_tickets),
    ("store_tickets_pdf", DocumentActivities.store_tickets_pdf),
    ("email_tickets", EmailActivities.email_tickets),
)


class FulfilmentSteps(HoldSteps):
    async def _fulfil(self) -> None:
        for name, step in STEPS:
            while True:
                self._step = name
                if self._cancel.request is not None and await self._refund():
                    return
                try:
                    await workflow.execute_activity_method(
                        step, OrderRef(self._order.order_id), **options.fulfilment(self._config)
                    )
                    break
                except ActivityError as failure:
                    await self._needs_attention(f"{name}: {cause_message(failure)}")
                    if await self._wait_for_support():
                        return

        self._step = "done"
        self._set_status(OrderStatus.COMPLETED)

    def _emailing(self) -> bool:
        """The tickets' email is going out: the order's row may already say `completed` (the
        step records it a moment before this run hears so)."""
        return self._status == OrderStatus.PAID and self._step == "email_tickets"

    async def _once_emailed(self) -> None:
        """Wait out the email step when a support update was accepted during it. Old
        histories never wait here: their validators accepted completed orders only."""
        if self._status != OrderStatus.COMPLETED:
            await workflow.wait_condition(lambda: self._status != OrderStatus.PAID)

    async def _wait_for_support(self) -> bool:
        """Wait for support's retry (then the step runs again: False) or a cancel that refunds
        (True). A refused cancel (a ticket used at the gate) leaves the order waiting, the step
        not re-run."""
        support = self._support
        while support.retry is None:
            await workflow.wait_condition(
                lambda: (
                    support.retry is not None
                    or self._cancel.request is not None
                    or self._stray_news()
                )
            )
            await self._refund_stray_payments()
            if self._cancel.request is not None and await self._refund():
                return True
        support.retry = None
        self._last_error = None
        self._set_status(OrderStatus.PAID)
        if workflow.patched("clear-needs-attention-since"):
            workflow.upsert_search_attributes([sa.NEEDS_ATTENTION_SINCE.value_unset()])
        return False

    async def _stay_open_for_refunds(self) -> None:
        """Completed orders stay open until the event is over, so refunds reach this run; a
        postponement (`event_moved`) moves that end."""
        reservation = self._require_reservation()
        while True:
            assert reservation.event_starts_at is not None
            grace = timedelta(seconds=self._config.order_grace_seconds)
            remaining = (reservation.event_starts_at + grace - workflow.now()).total_seconds()
            if remaining <= 0:
                return
            self._event_moved = False
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._cancel.request is not None or self._stray_news() or self._event_moved
                    ),
                    timeout=timedelta(seconds=remaining),
                )
            except TimeoutError:
                return
            await self._refund_stray_payments()
            if self._cancel.request is not None and await self._refund():
                return
