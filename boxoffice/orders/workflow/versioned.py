"""The order workflows as a versioned worker registers them: the same types, each declaring
how it moves between builds (Temporal Worker Versioning; docs/design-notes.md says why).

Separate classes because a behaviour declared on `@workflow.defn` makes the server refuse every
workflow task of an unversioned worker (`make dev`, the tests); these subclasses add nothing but
the declaration, so their histories are the plain classes' and replay alike."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import VersioningBehavior

from boxoffice.orders.reconciliation.workflow import ReconciliationWorkflow
from boxoffice.orders.workflow.late_payment import RefundLatePayment
from boxoffice.orders.workflow.purchase import PurchaseWorkflow

with workflow.unsafe.imports_passed_through():
    from boxoffice.orders.messages import LatePayment, PurchaseInput
    from boxoffice.orders.reconciliation.messages import ReconcileInput, Report


# AUTO_UPGRADE: an order's run lives until its event is over, weeks; pinned, every build would
# keep its workers that long. Each change to the run is patched instead (tests/orders/replay).
@workflow.defn(name="PurchaseWorkflow", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class VersionedPurchaseWorkflow(PurchaseWorkflow):
    @workflow.run
    async def run(self, order: PurchaseInput) -> str:
        return await super().run(order)


# PINNED: one refund, minutes long; it ends on the build it started on, which drains soon.
@workflow.defn(name="RefundLatePayment", versioning_behavior=VersioningBehavior.PINNED)
class VersionedRefundLatePayment(RefundLatePayment):
    @workflow.run
    async def run(self, late: LatePayment) -> str:
        return await super().run(late)


# PINNED: one check of a period's books, minutes long, started daily by a Schedule.
@workflow.defn(name="ReconciliationWorkflow", versioning_behavior=VersioningBehavior.PINNED)
class VersionedReconciliation(ReconciliationWorkflow):
    @workflow.run
    async def run(self, request: ReconcileInput) -> Report:
        return await super().run(request)
