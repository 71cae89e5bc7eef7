"""S3 or SMTP down for a while. A short outage is waited out by the step's retries and the
order completes; a long one puts the paid order in needs_attention, from where support retries
it once the service is back (it completes) or cancels it (refunded, tickets void, seats back)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.orders.chaos.buyers import Answers, place_order, wait_for_statuses
from tests.orders.chaos.conftest import Chaos
from tests.orders.chaos.fault_proxy import Fault
from tests.orders.chaos.invariants import check_all
from tests.purchases import create_event

#: Within the fulfilment retries of the chaos settings (about 8 s of backoff), and well past.
SHORT_OUTAGE = 2.5
ORDERS_PER_ROUND = 3


async def _support(http: httpx.AsyncClient, order_id: str, action: str) -> None:
    response = await http.post(
        f"/admin/orders/{order_id}/{action}",
        json={"reason": "the outage is over"},
    )
    assert response.status_code == 200, response.text


async def _place(http: httpx.AsyncClient, event: dict[str, object], answers: Answers) -> str:
    order_id, status = await place_order(
        http, event, payment_method="pm_card_visa", answers=answers
    )
    assert order_id is not None, status
    return order_id


@pytest.mark.parametrize("service", ["s3", "smtp"])
async def test_storage_or_mail_down(chaos: Chaos, service: str) -> None:
    cluster = chaos.cluster
    proxy = getattr(cluster.proxies, service)
    rounds = chaos.sizes.outage_rounds
    answers = Answers()
    waited: list[str] = []
    retried: list[str] = []
    cancelled: list[str] = []
    async with cluster.http(timeout=120) as http:
        event = await create_event(http, capacity=rounds * ORDERS_PER_ROUND * 2)
        for _ in range(rounds):
            with proxy.fault_for_block(Fault.REFUSE):
                ids = [await _place(http, event, answers) for _ in range(ORDERS_PER_ROUND)]
                await asyncio.sleep(SHORT_OUTAGE)
            waited += ids
            await wait_for_statuses(chaos.world.sessions, ids, {"completed"})

            with proxy.fault_for_block(Fault.REFUSE):
                ids = [await _place(http, event, answers) for _ in range(ORDERS_PER_ROUND)]
                await wait_for_statuses(chaos.world.sessions, ids, {"needs_attention"})
            await _support(http, ids[0], "cancel")
            cancelled.append(ids[0])
            for order_id in ids[1:]:
                await _support(http, order_id, "retry")
            retried += ids[1:]
            # Before the next round's outage: a retried step meeting it would need support again.
            await wait_for_statuses(chaos.world.sessions, ids[1:], {"completed"})
    found = await wait_for_statuses(chaos.world.sessions, waited + retried, {"completed"})
    found |= await wait_for_statuses(chaos.world.sessions, cancelled, {"refunded"})
    for order_id, path in (
        (waited[0], "waited_out"),
        (retried[0], "support_retry"),
        (cancelled[0], "support_cancel"),
    ):
        await chaos.record_history(order_id, f"chaos_{service}_down_{path}")

    violations = answers.bad + await check_all(chaos.world, [event["id"]])
    chaos.reports.record(
        f"{service} down",
        {
            "rounds": rounds,
            "waited out": len(waited),
            "needs_attention then retried": len(retried),
            "needs_attention then cancelled": len(cancelled),
            "completed": sum(status == "completed" for status in found.values()),
            "refunded": sum(status == "refunded" for status in found.values()),
        },
        violations,
    )
