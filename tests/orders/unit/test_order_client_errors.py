"""The order client turns Temporal's errors into OrderErrors once: an update the run did not
answer within the server's wait is a 503 to retry, not a 500 (a worker SIGKILLed during a
payment showed it in the chaos tier)."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

from boxoffice.core.errors import ErrorKind
from boxoffice.orders.client import SLOW_ANSWER, OrderClient
from boxoffice.orders.domain import OrderError


async def _update_that_timed_out() -> None:
    raise WorkflowUpdateRPCTimeoutOrCancelledError()


async def test_an_update_the_run_did_not_answer_in_time_is_unavailable() -> None:
    client = OrderClient.__new__(OrderClient)  # _ask needs neither Temporal nor settings
    with pytest.raises(OrderError) as refused:
        await client._ask(_update_that_timed_out())
    assert (refused.value.kind, str(refused.value)) == (ErrorKind.UNAVAILABLE, SLOW_ANSWER)
