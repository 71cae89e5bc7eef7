"""The only code that touches an order's workflow handle: starting an order and asking for its
seats, its updates (pay, cancel, and support's), its status query, and the payment news from
Stripe. Temporal's errors become `OrderError`s here, once: a refusal by the order's state, a
run that has closed, or Temporal being away."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import NoReturn, TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.core.errors import ErrorKind
from boxoffice.core.http.outages import ORDER_SERVICE_AWAY
from boxoffice.core.settings import Settings
from boxoffice.core.temporal import search_attributes as sa
from boxoffice.orders.domain import OrderError, OrderStatus
from boxoffice.orders.messages import (
    RESERVATION_UPDATE_ID,
    CancelRequest,
    CancelResult,
    EmailSent,
    EventMoved,
    ExtendHold,
    HoldExtended,
    LatePayment,
    OrderProgress,
    PaymentSucceeded,
    PayRequest,
    PayResult,
    PipelineConfig,
    PurchaseInput,
    ResendRequest,
    ReservationAnswer,
    SupportAction,
)
from boxoffice.orders.workflow.late_payment import RefundLatePayment, late_payment_workflow_id
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

T = TypeVar("T")
CLOSED = "This order is closed; nothing more can change."
SLOW_ANSWER = "The order is taking too long to answer; check it again in a moment."
#: Refusals of the order's own that are a limit, not its state.
_TOO_MANY = frozenset({"TooManyPaymentAttempts"})


def pipeline_config(settings: Settings) -> PipelineConfig:
    """Timeouts and limits for a new order, from this process's settings."""
    return PipelineConfig(
        hold_seconds=settings.hold_seconds,
        payment_timeout_seconds=settings.payment_timeout_seconds,
        step_timeout_seconds=settings.step_timeout_seconds,
        step_max_attempts=settings.step_max_attempts,
        retry_initial_interval_seconds=settings.retry_initial_interval_seconds,
        retry_max_interval_seconds=settings.retry_max_interval_seconds,
        order_grace_seconds=settings.order_grace_seconds,
        payments_task_queue=settings.task_queue_payments,
        fulfilment_task_queue=settings.task_queue_fulfilment,
        max_hold_extension_seconds=settings.max_hold_extension_minutes * 60,
        first_hold_seconds=settings.first_hold_seconds,
        max_payment_attempts=settings.max_payment_attempts_per_order,
    )


class OrderClient:
    def __init__(self, temporal: Client, settings: Settings) -> None:
        self.temporal = temporal
        self._settings = settings

    def _handle(self, order_id: str) -> WorkflowHandle[PurchaseWorkflow, str]:
        return self.temporal.get_workflow_handle_for(PurchaseWorkflow.run, order_id)

    # --- starting an order ---------------------------------------------------------------

    async def start_and_reserve(self, order: PurchaseInput) -> ReservationAnswer | None:
        """Start the order's run and wait for its reservation's answer, in one round trip
        (update-with-start; a retried create attaches to the same run and answer). None when
        it is not decided within RESERVATION_WAIT_SECONDS. `WorkflowAlreadyStartedError`: the
        order's run has closed, and its row has the answer."""
        start = WithStartWorkflowOperation(
            PurchaseWorkflow.run,
            order,
            id=order.order_id,
            task_queue=self._settings.task_queue_purchases,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=_search_attributes(order),
        )
        try:
            return await asyncio.wait_for(
                self.temporal.execute_update_with_start_workflow(
                    "reservation",
                    start_workflow_operation=start,
                    id=RESERVATION_UPDATE_ID,
                    result_type=ReservationAnswer,
                ),
                timeout=self._settings.reservation_wait_seconds,
            )
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            return None
        except WorkflowUpdateFailedError as failed:
            # The run ended without answering (it should not; the workflow answers every path).
            raise OrderError(
                ErrorKind.UNAVAILABLE, f"The reservation could not be made: {failed.cause}"
            ) from None
        except RPCError as error:
            if error.status == RPCStatusCode.ALREADY_EXISTS:
                raise WorkflowAlreadyStartedError(order.order_id, "PurchaseWorkflow") from None
            _unavailable(error)

    async def start(self, order: PurchaseInput, *, again: bool = False) -> None:
        """Start the order's run and return once Temporal has recorded it, without waiting for
        a worker (the API reserves the seats itself: `orders/creation.py`). A retried create
        attaches to the running run. `WorkflowAlreadyStartedError`: the order's run has closed,
        and its row has the answer. `again`: a new run for an order whose run gave up without
        writing it (the database was away)."""
        try:
            await self.temporal.start_workflow(
                PurchaseWorkflow.run,
                order,
                id=order.order_id,
                task_queue=self._settings.task_queue_purchases,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=(
                    WorkflowIDReusePolicy.ALLOW_DUPLICATE
                    if again
                    else WorkflowIDReusePolicy.REJECT_DUPLICATE
                ),
                search_attributes=_search_attributes(order),
            )
        except RPCError as error:
            if error.status == RPCStatusCode.ALREADY_EXISTS:
                raise WorkflowAlreadyStartedError(order.order_id, "PurchaseWorkflow") from None
            _unavailable(error)

    # --- reading -------------------------------------------------------------------------

    async def describe(self, order_id: str) -> WorkflowExecutionDescription | None:
        """The run as Temporal describes it; None when there is none."""
        try:
            return await self._handle(order_id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return None
            _unavailable(error)

    async def exists(self, order_id: str) -> bool:
        return await self.describe(order_id) is not None

    async def closed(self, order_id: str) -> bool:
        """The order's run exists and has closed."""
        described = await self.describe(order_id)
        return described is not None and described.status != WorkflowExecutionStatus.RUNNING

    async def progress(self, order_id: str) -> OrderProgress:
        return await self._ask(self._handle(order_id).query(PurchaseWorkflow.status))

    # --- the buyer's updates -------------------------------------------------------------

    async def pay(self, order_id: str, payment_method: str) -> PayResult:
        """One payment attempt, bounded: the workflow decides an attempt within the payment
        timeout (and settles one whose outcome was lost)."""
        update = self._handle(order_id).execute_update(
            PurchaseWorkflow.pay, PayRequest(payment_method)
        )
        try:
            return await asyncio.wait_for(
                self._ask(update), timeout=self._settings.payment_timeout_seconds * 3
            )
        except TimeoutError:
            raise OrderError(
                ErrorKind.UNAVAILABLE, "The payment is taking too long; check the order."
            ) from None

    async def cancel(self, order_id: str, request: CancelRequest) -> CancelResult:
        return await self._ask(
            self._handle(order_id).execute_update(PurchaseWorkflow.cancel, request)
        )

    # --- support's updates ---------------------------------------------------------------

    async def support_cancel(
        self, order_id: str, action: SupportAction, update_id: str | None = None
    ) -> CancelResult:
        """`update_id`: the same id asked again attaches to the first cancel (its result once
        it is done) instead of sending another."""
        handle = self._handle(order_id)
        return await self._ask(
            handle.execute_update(PurchaseWorkflow.support_cancel, action, id=update_id)
        )

    async def refund(self, order_id: str, action: SupportAction) -> CancelResult:
        return await self._ask(
            self._handle(order_id).execute_update(PurchaseWorkflow.refund, action)
        )

    async def retry(self, order_id: str, action: SupportAction) -> str:
        handle = self._handle(order_id)
        return await self._ask(handle.execute_update(PurchaseWorkflow.support_retry, action))

    async def resend(self, order_id: str, request: ResendRequest) -> EmailSent:
        handle = self._handle(order_id)
        return await self._ask(handle.execute_update(PurchaseWorkflow.resend, request))

    async def extend(self, order_id: str, request: ExtendHold) -> HoldExtended:
        handle = self._handle(order_id)
        return await self._ask(handle.execute_update(PurchaseWorkflow.extend_hold, request))

    # --- Stripe's news -------------------------------------------------------------------

    async def payment_news(self, order_id: str, payment_intent_id: str) -> bool:
        """Tell the order's run a PaymentIntent succeeded; False when its run has closed."""
        try:
            await self._handle(order_id).signal(
                PurchaseWorkflow.payment_succeeded, PaymentSucceeded(payment_intent_id)
            )
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            _unavailable(error)
        return True

    async def event_moved(self, order_id: str, moved: EventMoved) -> bool:
        """Tell the order's run its event moved; False when its run has closed."""
        try:
            await self._handle(order_id).signal(PurchaseWorkflow.event_moved, moved)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            _unavailable(error)
        return True

    async def refund_late_payment(self, order_id: str, payment_intent_id: str) -> None:
        """Money for an order whose run has closed goes back, by a run of its own (id from the
        PaymentIntent: it runs once however often Stripe tells us)."""
        try:
            await self.temporal.start_workflow(
                RefundLatePayment.run,
                LatePayment(order_id, payment_intent_id, pipeline_config(self._settings)),
                id=late_payment_workflow_id(payment_intent_id),
                task_queue=self._settings.task_queue_purchases,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass  # Stripe told us twice (another event id): the first one is being handled.
        except RPCError as error:
            _unavailable(error)

    async def _ask(self, call: Awaitable[T]) -> T:
        """Await an update or query: the order's refusal, a closed run and Temporal away come
        back as `OrderError`s."""
        try:
            return await call
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            if isinstance(cause, ApplicationError):
                kind = ErrorKind.TOO_MANY if cause.type in _TOO_MANY else ErrorKind.REFUSED
                raise OrderError(kind, cause.message) from None
            raise OrderError(ErrorKind.REFUSED, str(cause or failed)) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            # The run did not answer within the server's wait (its worker died mid-step, say):
            # the update may still complete; the caller checks the order again.
            raise OrderError(ErrorKind.UNAVAILABLE, SLOW_ANSWER) from None
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                raise OrderError(ErrorKind.REFUSED, CLOSED) from None
            _unavailable(error)


def _search_attributes(order: PurchaseInput) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.EVENT_ID, order.event_id),
            SearchAttributePair(sa.ORDER_STATUS, OrderStatus.PENDING),
        ]
    )


def _unavailable(error: RPCError) -> NoReturn:
    raise OrderError(ErrorKind.UNAVAILABLE, ORDER_SERVICE_AWAY) from error
