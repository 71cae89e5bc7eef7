"""The workflow tier's time-skipping test server, shared with the orders' workflow tests."""

from tests.orders.workflow.conftest import env

__all__ = ["env"]
