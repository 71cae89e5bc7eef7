"""Fixtures of the workflow tier: one time-skipping test server for the session, and per test a
fresh task queue with a worker running the real PurchaseWorkflow against fake activities."""

from __future__ import annotations

import asyncio
import functools
import inspect
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boxoffice.core.temporal.search_attributes import REGISTRATION

from .harness import WORKFLOWS, Fakes, Harness, short_config

#: A test still running after this long has a workflow or update that never finishes: fail it
#: rather than hang the tier.
TEST_SECONDS = 20.0

_STUCK = f"still running after {TEST_SECONDS:.0f}s: a workflow run or an update never finished"

_INDEXED_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


def _test_server_path() -> str:
    """The test server shipped in the virtualenv; never let the SDK download one."""
    found = shutil.which("temporal-test-server")
    if found:
        return found
    beside_python = Path(sys.executable).parent / "temporal-test-server"
    if beside_python.exists():
        return str(beside_python)
    return str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "temporal-test-server")


async def _register_search_attributes(env: WorkflowEnvironment) -> None:
    for name, kind in REGISTRATION.items():
        try:
            await env.client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=env.client.namespace,
                    search_attributes={name: _INDEXED_TYPES[kind]},
                )
            )
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS:
                raise


@pytest_asyncio.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_test_server_path()
    )
    try:
        await _register_search_attributes(environment)
        yield environment
    finally:
        await environment.shutdown()


@pytest_asyncio.fixture
async def harness(env: WorkflowEnvironment) -> AsyncIterator[Harness]:
    task_queue = f"purchases-{uuid.uuid4()}"
    fakes = Fakes(now=await env.get_current_time())
    h = Harness(env=env, task_queue=task_queue, fakes=fakes, config=short_config(task_queue))
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=fakes.activities(),
    ):
        try:
            yield h
        finally:
            await fakes.open_gates()
            await h.close_leftovers()


def _bounded(
    test: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., Coroutine[Any, Any, None]]:
    @functools.wraps(test)
    async def run(**kwargs: Any) -> None:
        limit = asyncio.timeout(TEST_SECONDS)
        try:
            async with limit:
                await test(**kwargs)
        except Exception as error:
            if limit.expired():
                raise AssertionError(_STUCK) from error
            raise
        if limit.expired():
            raise AssertionError(_STUCK)

    return run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and item.path.resolve().is_relative_to(here)
            and inspect.iscoroutinefunction(item.obj)
        ):
            item.obj = _bounded(item.obj)
