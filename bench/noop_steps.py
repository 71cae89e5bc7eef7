"""Scenario 2's second run: our workflow and its reservation as they are, but charge, issue,
store and email as no-ops that only record the order's status (so completion shows in Postgres
as usual). It separates what Temporal and our workflow cost from what the Stripe emulator, PDF
rendering, S3 and SMTP cost on the same two cores.

`python -m bench.noop_steps` serves the payments and fulfilment task queues with them, beside a
pool started with `--queues purchases`; settings come from the environment like a worker's."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AsyncExitStack
from typing import Any

from temporalio import activity
from temporalio.worker import Worker

from boxoffice.core.database.engine import create_engine, session_factory
from boxoffice.core.settings import get_settings
from boxoffice.core.temporal.client import connect
from boxoffice.orders.messages import (
    EmailSent,
    IssuedTickets,
    OrderRef,
    PayInput,
    PayResult,
    StoredDocument,
)
from boxoffice.orders.repository import orders


class NoopSteps:
    def __init__(self, sessions: Any) -> None:
        self._sessions = sessions

    async def _record(self, order_id: str, status: str) -> None:
        async with self._sessions() as session, session.begin():
            await orders.move_status(session, order_id, status)

    @activity.defn(name="charge_payment")
    async def charge_payment(self, request: PayInput) -> PayResult:
        await self._record(request.order_id, "paid")
        return PayResult(status="succeeded")

    @activity.defn(name="issue_tickets")
    async def issue_tickets(self, ref: OrderRef) -> IssuedTickets:
        return IssuedTickets(tickets=[])

    @activity.defn(name="store_tickets_pdf")
    async def store_tickets_pdf(self, ref: OrderRef) -> StoredDocument:
        return StoredDocument(key=f"noop/{ref.order_id}.pdf")

    @activity.defn(name="email_tickets")
    async def email_tickets(self, ref: OrderRef) -> EmailSent:
        await self._record(ref.order_id, "completed")
        return EmailSent(message_id=f"<noop.{ref.order_id}@bench>", recipient="")


async def serve() -> None:
    settings = get_settings()
    engine = create_engine(settings)
    steps = NoopSteps(session_factory(engine))
    # The system's own client: its payload codec reads what the API's client encrypted.
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(
                Worker(
                    client,
                    task_queue=settings.task_queue_payments,
                    activities=[steps.charge_payment],
                )
            )
            await stack.enter_async_context(
                Worker(
                    client,
                    task_queue=settings.task_queue_fulfilment,
                    activities=[steps.issue_tickets, steps.store_tickets_pdf, steps.email_tickets],
                )
            )
            print("no-op steps serving", flush=True)
            await stop.wait()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(serve())
