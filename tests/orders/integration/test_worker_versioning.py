"""Deploying new workflow code while orders are open (Temporal Worker Versioning on the dev
server): orders started on build A finish on build B once B is current and A's workers are gone,
new orders start on B; a worker of a build the server does not know refuses to start."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
from temporalio.common import VersioningBehavior

from boxoffice.core.settings import Settings
from boxoffice.devstack.processes import find_executable
from boxoffice.devstack.services import temporal_cli_args
from boxoffice.worker import QUEUE_KINDS, build_workers, register_build, running
from tests.conftest import ApiServer, Stack, stack_settings
from tests.purchases import create_event, order_body, wait_for_status


def versioned(stack: Stack, deployment: str, build: str) -> Settings:
    """Settings of a worker of `build`, on task queues of this test's own."""
    return stack_settings(
        stack.services,
        task_queue_purchases=f"purchases-{deployment}",
        task_queue_payments=f"payments-{deployment}",
        task_queue_fulfilment=f"fulfilment-{deployment}",
        worker_deployment_name=deployment,
        worker_build_id=build,
    )


def set_current(settings: Settings) -> None:
    """What an operator runs (README: "Deploying new workflow code")."""
    result = subprocess.run(
        [
            find_executable("temporal"),
            *("worker", "deployment", "set-current-version", "--yes"),
            *("--deployment-name", str(settings.worker_deployment_name)),
            *("--build-id", str(settings.worker_build_id)),
            *temporal_cli_args(settings.temporal_address, settings.temporal_namespace),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


async def ran_on(stack: Stack, order_id: str) -> tuple[VersioningBehavior, str]:
    """The order run's versioning behaviour and the build its last workflow task ran on."""
    described = await stack.temporal.get_workflow_handle(order_id).describe()
    info = described.raw_description.workflow_execution_info.versioning_info
    return VersioningBehavior(info.behavior), info.deployment_version.build_id


async def first_ran_on(stack: Stack, order_id: str) -> tuple[VersioningBehavior, str]:
    """`ran_on` once the run has had its first workflow task (within 30 s)."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        found = await ran_on(stack, order_id)
        if found[1] or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_open_orders_of_build_a_finish_on_build_b(stack: Stack) -> None:
    deployment = f"boxoffice-{uuid.uuid4().hex[:8]}"
    build_a, build_b = versioned(stack, deployment, "A"), versioned(stack, deployment, "B")
    headers = {"Authorization": f"Bearer {stack.token('test-staff', 'admin', 'support')}"}
    async with stack.http() as staff:
        event = await create_event(staff)

    await register_build(QUEUE_KINDS, build_a)
    set_current(build_a)
    async with AsyncExitStack() as workers_a:
        await workers_a.enter_async_context(
            running(build_workers(stack.temporal, build_a, QUEUE_KINDS, stack.sessions))
        )
        with ApiServer(build_a) as api:
            async with httpx.AsyncClient(
                base_url=api.url, headers=headers, trust_env=False, timeout=60
            ) as http:
                # Open orders on build A: seats held, not yet paid.
                old = []
                for _ in range(3):
                    created = await http.post("/orders", json=order_body(event))
                    assert created.status_code == 201, created.text
                    old.append(created.json()["id"])
                for order_id in old:
                    # The API answers once it took the seats; the run's first task may come after.
                    assert await first_ran_on(stack, order_id) == (
                        VersioningBehavior.AUTO_UPGRADE,
                        "A",
                    )

                # Build B deployed beside A, made current; then A's workers are gone (drained).
                await register_build(QUEUE_KINDS, build_b)
                async with running(
                    build_workers(stack.temporal, build_b, QUEUE_KINDS, stack.sessions)
                ):
                    set_current(build_b)
                    await workers_a.aclose()

                    for order_id in old:
                        paid = await http.post(
                            f"/orders/{order_id}/payment", json={"payment_method": "pm_card_visa"}
                        )
                        assert paid.status_code in (200, 202), paid.text
                    for order_id in old:
                        done = await wait_for_status(http, order_id, "completed", within=30)
                        assert len(done["tickets"]) == 1
                        assert await ran_on(stack, order_id) == (
                            VersioningBehavior.AUTO_UPGRADE,
                            "B",
                        )

                    created = await http.post("/orders", json=order_body(event, 1, "pm_card_visa"))
                    assert created.status_code == 201, created.text
                    new = created.json()["id"]
                    await wait_for_status(http, new, "completed", within=30)
                    assert await ran_on(stack, new) == (VersioningBehavior.AUTO_UPGRADE, "B")


def test_a_worker_of_an_unknown_build_refuses_to_start(stack: Stack, tmp_path: Path) -> None:
    """`boxoffice worker` with a build never registered: one line on stderr, exit status 2."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TEMPORAL_ADDRESS": stack.settings.temporal_address,
        "DATA_DIR": str(stack.settings.data_dir),
        "WORKER_DEPLOYMENT_NAME": f"boxoffice-{uuid.uuid4().hex[:8]}",
        "WORKER_BUILD_ID": "never-registered",
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "boxoffice"), "worker", "--queues", "purchases"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # no .env here
        env=env,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "'never-registered'" in result.stderr
    assert "is unknown to Temporal" in result.stderr
