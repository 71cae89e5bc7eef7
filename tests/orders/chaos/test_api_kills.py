"""An API process SIGKILLed in the middle of a create never strands a seat.

The API starts the order's run and then takes the seats itself (`orders/creation.py`). Here the
API runs in a process of its own (`dying_api.py`) that kills itself at one exact point of one
create; the test starts it again without the fault, as a supervisor would, and checks:
- killed right after the run was started, or right after the API took the seats (the answer
  never sent): the run exists and the order is `reserved` with its holds (the run reserved or
  adopted them); the same Idempotency-Key answers that order; when its short hold ends the
  seats come back and the order is `expired`;
- killed right before the start: no run, no row, no hold; the same key then creates the order.
Meanwhile other buyers buy seats of the same type through the cluster's API. The event has
exactly as many seats as all of them need, so a seat held twice or stranded turns a buyer
away, and at the end the seats left are exactly the killed creates' seats."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.orders.intake import order_id_for
from tests.orders.chaos.buyers import Answers, place_order, statuses, wait_for_statuses
from tests.orders.chaos.conftest import Chaos
from tests.orders.chaos.dying_api import DYING, POINTS, DyingApi
from tests.orders.chaos.invariants import check_all
from tests.purchases import create_event, general, order_body

REPO = Path(__file__).resolve().parents[3]
#: Seats per killed create, and the hold of its order: long enough to look at the order and
#: retry it through a restarted API on a busy machine, short enough to wait for its end.
SEATS = 2
HOLD_SECONDS = 10
#: Points at which the run was started, so the order must be there after the kill.
STARTED = ("after_start", "after_reserve")

_LIVE_HOLDS = (
    "SELECT COALESCE(SUM(quantity), 0) FROM holds WHERE order_id = :id AND released_at IS NULL"
)


async def _run_exists(chaos: Chaos, order_id: str) -> bool:
    try:
        await chaos.world.temporal.get_workflow_handle(order_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def _scalar(chaos: Chaos, query: str, order_id: str) -> int:
    async with chaos.world.sessions() as session:
        return int((await session.execute(text(query), {"id": order_id})).scalar_one())


async def _kill_round(
    chaos: Chaos, api: DyingApi, event: dict[str, object], point: str, answers: Answers
) -> tuple[str, list[str]]:
    """One create killed at `point`, the API started again, the order checked and retried."""
    key = str(uuid.uuid4())
    order_id = order_id_for(key)
    body = order_body(event, SEATS)
    headers = {"Idempotency-Key": key}
    bad: list[str] = []
    await asyncio.to_thread(api.start, point)
    async with chaos.cluster.http(base_url=api.url) as http:
        try:
            response = await http.post("/orders", json=body, headers=headers)
            bad.append(f"{point}: the dying API answered {response.status_code} {response.text}")
        except httpx.TransportError:
            pass  # the process died with the request
    code = await asyncio.to_thread(api.wait_dead)
    if code != -signal.SIGKILL:
        bad.append(f"{point}: the API process ended with {code}, not SIGKILL")
    if f"{DYING} {point} {order_id}" not in api.log_file.read_text(errors="replace"):
        bad.append(f"{point}: the API process did not die where it should ({order_id})")
    # Started again as a supervisor would, while the order is looked at directly.
    restarted = asyncio.create_task(asyncio.to_thread(api.start))
    try:
        if point in STARTED:
            bad += await _check_started(chaos, point, order_id)
        else:
            bad += await _check_nothing(chaos, point, order_id)
    finally:
        await restarted
    async with chaos.cluster.http(base_url=api.url) as http:
        retry = await http.post("/orders", json=body, headers=headers)
    answers.note(retry)
    answer = retry.json() if retry.status_code == 201 else {}
    if answer.get("id") != order_id:
        bad.append(f"{point}: the retry answered {retry.status_code} {retry.text}, not {order_id}")
    elif point not in STARTED and answer.get("status") != "reserved":
        bad.append(f"{point}: the retry's new order is {answer.get('status')}, not reserved")
    return order_id, bad


async def _check_started(chaos: Chaos, point: str, order_id: str) -> list[str]:
    if not await _run_exists(chaos, order_id):
        return [f"{point}: order {order_id} has no run after the kill"]
    # The run reserves (after_start) or adopts (after_reserve) the seats.
    found = await wait_for_statuses(chaos.world.sessions, [order_id], {"reserved"}, within=60)
    held = await _scalar(chaos, _LIVE_HOLDS, order_id)
    if held != SEATS:
        return [f"{point}: order {order_id} is {found[order_id]} holding {held} seats"]
    return []


async def _check_nothing(chaos: Chaos, point: str, order_id: str) -> list[str]:
    bad = []
    if await _run_exists(chaos, order_id):
        bad.append(f"{point}: order {order_id} has a run though the API died before starting it")
    if order_id in await statuses(chaos.world.sessions, [order_id]):
        bad.append(f"{point}: order {order_id} has a row though nothing was started")
    holds = await _scalar(chaos, "SELECT COUNT(*) FROM holds WHERE order_id = :id", order_id)
    if holds:
        bad.append(f"{point}: order {order_id} has {holds} holds though nothing was started")
    return bad


async def _other_buyers(
    chaos: Chaos, event: dict[str, object], count: int, answers: Answers
) -> list[str]:
    """Buyers who pay at once, through the cluster's own API, a few at a time. There are seats
    for all of them: one turned away (kept in `answers.bad`) saw seats held twice or stranded."""
    gate = asyncio.Semaphore(3)

    async def one(index: int) -> str | None:
        await asyncio.sleep(index * 0.5)
        async with gate, chaos.cluster.http() as http:
            order_id, status = await place_order(
                http, event, payment_method="pm_card_visa", answers=answers
            )
        if order_id is None:
            answers.bad.append(f"another buyer was turned away ({status})")
        return order_id

    found = await asyncio.gather(*(one(index) for index in range(count)))
    return [order_id for order_id in found if order_id is not None]


async def _released(chaos: Chaos, order_ids: list[str]) -> list[str]:
    """Every killed create's seats came back, none before its hold ended."""
    async with chaos.world.sessions() as session:
        rows = await session.execute(
            text(
                "SELECT o.id, COALESCE(SUM(h.quantity) FILTER (WHERE h.released_at IS NOT NULL"
                "   AND h.released_at >= o.hold_expires_at), 0),"
                " COUNT(h.order_id) FILTER (WHERE h.released_at IS NULL"
                "   OR h.released_at < o.hold_expires_at)"
                " FROM orders o LEFT JOIN holds h ON h.order_id = o.id"
                " WHERE o.id = ANY(:ids) GROUP BY o.id"
            ),
            {"ids": order_ids},
        )
        found = {row[0]: (row[1], row[2]) for row in rows.all()}
    return [
        f"order {oid}: {found.get(oid, (0, 0))[0]} seats back after its hold ended"
        f" ({found.get(oid, (0, 0))[1]} holds kept or released early), not {SEATS}"
        for oid in order_ids
        if found.get(oid) != (SEATS, 0)
    ]


async def test_api_killed_mid_create_strands_no_seat(chaos: Chaos) -> None:
    rounds = chaos.sizes.api_kill_rounds
    buyers = chaos.sizes.api_kill_buyers
    kills = rounds * len(POINTS)
    answers = Answers()
    async with chaos.cluster.http() as http:
        event = await create_event(http, capacity=kills * SEATS + buyers)
    settings = chaos.cluster.settings.model_copy(
        update={"hold_seconds": HOLD_SECONDS, "first_hold_seconds": 0}
    )
    api = await asyncio.to_thread(DyingApi, settings, chaos.cluster.tmp / "dying-api.log", REPO)
    others = asyncio.create_task(_other_buyers(chaos, event, buyers, answers))
    killed: list[str] = []
    violations: list[str] = []
    try:
        for _ in range(rounds):
            for point in POINTS:
                await asyncio.to_thread(api.kill)  # the last round's, healthy
                order_id, bad = await _kill_round(chaos, api, event, point, answers)
                killed.append(order_id)
                violations += bad
    finally:
        await asyncio.to_thread(api.close)
        bought = await others

    expired = await wait_for_statuses(
        chaos.world.sessions, killed, {"expired"}, within=HOLD_SECONDS + 120
    )
    completed = await wait_for_statuses(chaos.world.sessions, bought, {"completed"})
    violations += await _released(chaos, killed)
    async with chaos.world.sessions() as session:
        available = (
            await session.execute(
                text("SELECT available FROM ticket_types WHERE id = CAST(:id AS uuid)"),
                {"id": general(event)},
            )
        ).scalar_one()
    if available != kills * SEATS:
        violations.append(f"{available} seats left, not the killed creates' {kills * SEATS}")
    violations += answers.bad + await check_all(chaos.world, [str(event["id"])])
    chaos.reports.record(
        "API SIGKILL mid-create",
        {
            "kills": kills,
            "expired": sum(status == "expired" for status in expired.values()),
            "other buyers completed": sum(s == "completed" for s in completed.values()),
            "seats left": available,
        },
        violations,
    )
