"""Model-based: hypothesis interleaves create, pay, decline, cancel, expire (skipping time),
S3 breaking and coming back, and support's retry and cancel, on the real workflow with the real
activities. After every step each order must be where a simple model says (its workflow's status
and its row alike), and every invariant must hold."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from boxoffice.auth.tokens import mint_token
from boxoffice.orders.messages import CancelRequest, PayRequest, SupportAction
from tests.orders.chaos.buyers import statuses
from tests.orders.chaos.cluster import Cluster
from tests.orders.chaos.conftest import Reports
from tests.orders.chaos.fault_proxy import Fault
from tests.orders.chaos.invariants import check_all
from tests.orders.chaos.model_runtime import HOLD_SECONDS, ModelRuntime
from tests.orders.chaos.sizes import sizes
from tests.purchases import card_payment_method, general

CAPACITY = 4
DECLINED_CARD = "4000000000000341"
SETTLE_SECONDS = 30.0
SUPPORT = SupportAction(actor="model-support", reason="the model says so")


@dataclass
class Expected:
    status: str
    quantity: int


class PurchaseModel(RuleBasedStateMachine):
    runtime: ClassVar[ModelRuntime]
    declining_card: ClassVar[str]
    steps_taken: ClassVar[int] = 0

    orders = Bundle("orders")

    @initialize()
    def new_event(self) -> None:
        self.expected: dict[str, Expected] = {}
        self.available = CAPACITY
        self.storage_broken = False
        self.event = _create_event(self.runtime.cluster)

    # --- the buyer ----------------------------------------------------------------------------

    @rule(target=orders, quantity=st.integers(min_value=1, max_value=3))
    def create(self, quantity: int) -> str:
        answer = self.runtime.run(
            self.runtime.create(self.event["id"], general(self.event), quantity)
        )
        fits = quantity <= self.available
        assert answer.status == ("reserved" if fits else "sold_out"), answer
        if fits:
            self.available -= quantity
        self.expected[answer.order_id] = Expected(answer.status, quantity)
        return answer.order_id

    @rule(order=orders)
    def pay(self, order: str) -> None:
        accepted = self._update(order, "pay", PayRequest("pm_card_visa"))
        assert accepted == (self.expected[order].status == "reserved")
        if accepted:
            self._expect(order, "needs_attention" if self.storage_broken else "completed")

    @rule(order=orders)
    def decline(self, order: str) -> None:
        accepted = self._update(order, "pay", PayRequest(self.declining_card))
        assert accepted == (self.expected[order].status == "reserved")

    @rule(order=orders)
    def cancel(self, order: str) -> None:
        self._cancel(order, "cancel", CancelRequest(reason="changed my mind"))

    @rule()
    def expire(self) -> None:
        self.runtime.run(self.runtime.skip(HOLD_SECONDS + 1))
        for order_id, expected in self.expected.items():
            if expected.status == "reserved":
                self._expect(order_id, "expired")
                self.available += expected.quantity

    # --- the world ----------------------------------------------------------------------------

    @rule()
    def break_storage(self) -> None:
        self.runtime.cluster.proxies.s3.set(Fault.REFUSE)
        self.storage_broken = True

    @rule()
    def restore_storage(self) -> None:
        self.runtime.cluster.proxies.s3.set(Fault.PASS)
        self.storage_broken = False

    # --- support ------------------------------------------------------------------------------

    @rule(order=orders)
    def support_retry(self, order: str) -> None:
        accepted = self._update(order, "support_retry", SUPPORT)
        assert accepted == (self.expected[order].status == "needs_attention")
        if accepted:
            self._expect(order, "needs_attention" if self.storage_broken else "completed")

    @rule(order=orders)
    def support_cancel(self, order: str) -> None:
        self._cancel(order, "support_cancel", SUPPORT)

    # --- after every step ---------------------------------------------------------------------

    @invariant()
    def orders_are_where_the_model_says(self) -> None:
        if not hasattr(self, "event"):
            return
        type(self).steps_taken += 1
        self.runtime.run(self._settle())
        violations = self.runtime.run(
            check_all(self.runtime.world, [self.event["id"]], settled=False)
        )
        assert not violations, violations

    def teardown(self) -> None:
        self.runtime.cluster.proxies.s3.set(Fault.PASS)

    # --- helpers ------------------------------------------------------------------------------

    def _update(self, order: str, name: str, arg: object) -> bool:
        return self.runtime.run(self.runtime.update(order, name, arg))

    def _cancel(self, order: str, name: str, arg: object) -> None:
        before = self.expected[order].status
        accepted = self._update(order, name, arg)
        open_statuses = ("reserved", "completed", "needs_attention")
        assert accepted == (before in open_statuses), (name, before)
        if accepted:
            self._expect(order, "cancelled" if before == "reserved" else "refunded")
            self.available += self.expected[order].quantity

    def _expect(self, order: str, status: str) -> None:
        self.expected[order].status = status

    async def _settle(self) -> None:
        """Wait until every order's run and row show what the model expects."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            rows = await statuses(self.runtime.world.sessions, self.expected)
            wrong = {}
            for order_id, expected in self.expected.items():
                shown = (await self.runtime.progress(order_id)).status
                if shown != expected.status or rows.get(order_id) != expected.status:
                    wrong[order_id] = (expected.status, shown, rows.get(order_id))
            if not wrong:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"orders not as modelled (want, run, row): {wrong}")
            await asyncio.sleep(0.1)


def _create_event(cluster: Cluster) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {mint_token(cluster.settings, 'model', ['admin'])}"}
    with httpx.Client(base_url=cluster.api_url, trust_env=False, timeout=30, headers=admin) as http:
        response = http.post(
            "/events",
            json={
                "name": f"Model night {uuid.uuid4().hex[:8]}",
                "venue": "Hall M",
                "starts_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                "ticket_types": [
                    {"name": "General", "price": 3000, "currency": "EUR", "capacity": CAPACITY}
                ],
            },
        )
    assert response.status_code == 201, response.text
    event: dict[str, Any] = response.json()
    return event


def test_purchase_model(cluster: Cluster, reports: Reports) -> None:
    chosen = sizes()
    with ModelRuntime(cluster) as runtime:
        PurchaseModel.runtime = runtime
        PurchaseModel.declining_card = card_payment_method(cluster.stripe_base, DECLINED_CARD)
        PurchaseModel.steps_taken = 0
        run_state_machine_as_test(
            PurchaseModel,
            settings=settings(
                max_examples=chosen.model_examples,
                stateful_step_count=chosen.model_steps,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=False,
                database=None,
            ),
        )
    assert PurchaseModel.steps_taken > 0
    reports.record(
        "model-based (hypothesis, time-skipping)",
        {"examples": chosen.model_examples, "steps checked": PurchaseModel.steps_taken},
        [],
    )
