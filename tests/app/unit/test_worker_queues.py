"""Queue kinds sharing a task queue (`worker_queues.py`): refused when a worker would hold only
some of them, and never for payments, whose rate limit is the whole queue's."""

from __future__ import annotations

from typing import Any, cast

import pytest
from pydantic import ValidationError
from temporalio.client import Client

from boxoffice.core.settings import Settings
from boxoffice.worker_queues import build_workers


def test_payments_keeps_a_queue_of_its_own() -> None:
    with pytest.raises(ValidationError, match="TASK_QUEUE_PAYMENTS must be a queue of its own"):
        Settings(task_queue_payments="purchases")
    with pytest.raises(ValidationError, match="TASK_QUEUE_PAYMENTS must be a queue of its own"):
        Settings(task_queue_fulfilment="shared", task_queue_payments="shared")


@pytest.mark.parametrize("alone", ["purchases", "fulfilment"])
def test_a_worker_holding_half_a_shared_queue_is_refused(alone: str) -> None:
    settings = Settings(task_queue_fulfilment="purchases")
    no_client = cast(Client, None)  # refused before any worker is made
    sessions: Any = None
    with pytest.raises(ValueError, match="share the task queue 'purchases'") as refused:
        build_workers(no_client, settings, [alone], sessions)
    assert "--queues fulfilment,purchases" in str(refused.value)
