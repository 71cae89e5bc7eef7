"""JSON log lines: their shape, the order and workflow they name, and nothing secret in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from boxoffice.core.observability.logging import JsonHandler, configure_logging, mask_text
from boxoffice.core.settings import Settings

ORDER = "ord_0123456789abcdef0123456789abcdef"


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose records go only to a JSON handler writing into a buffer."""
    buffer = io.StringIO()
    logger = logging.getLogger("boxoffice.tests.json")
    logger.handlers = [JsonHandler("tests", buffer)]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, buffer
    finally:
        logger.handlers = []
        logger.propagate = True


def last_line(buffer: io.StringIO) -> dict[str, Any]:
    *_, line = buffer.getvalue().splitlines()
    parsed: dict[str, Any] = json.loads(line)
    return parsed


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("sent to ada.lovelace@example.com", "sent to a***@example.com"),
        ("Ada <ada@mail.example.co.uk>", "Ada <a***@mail.example.co.uk>"),
        ("GET /orders?email=ada%40example.com", "GET /orders?email=a***%40example.com"),
        ("already a***@example.com", "already a***@example.com"),
        ("key=sk_live_51HxYzAbC123", "key=sk_live_***"),
        ("STRIPE_API_KEY=sk_test_boxoffice_local", "STRIPE_API_KEY=sk_test_***"),
        ("restricted rk_live_abc123", "restricted rk_live_***"),
        ("secret whsec_boxoffice_tests.", "secret whsec_***."),
        ("client_secret pi_3NabcDEF_secret_XyZ123abc", "client_secret pi_3NabcDEF_secret_***"),
        ("setup seti_1Ab_secret_Cd2", "setup seti_1Ab_secret_***"),
        ("card 4242424242424242 declined", "card ****4242 declined"),
        ("card 4000 0000 0000 0341", "card ****0341"),
        ("card 4000-0000-0000-9995!", "card ****9995!"),
        ("amex 3782 822463 10005", "amex ****0005"),
        ("13 digits 4222222222222", "13 digits ****2222"),
        ("19 digits 6011000990139424123", "19 digits ****4123"),
        (
            "GET /orders/ord_1/tickets.pdf?token=bxo_q2Zf-8K_x0AbCdEf12 HTTP/1.1",
            "GET /orders/ord_1/tickets.pdf?token=bxo_*** HTTP/1.1",
        ),
        ("X-Order-Token: bxo_AAAA", "X-Order-Token: bxo_***"),
    ],
)
def test_secrets_and_personal_data_are_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        f"order {ORDER}",
        "ticket type 123e4567-e89b-12d3-a456-426614174000",
        "12345678-1234-1234-1234-123456789012",
        "Message-ID <tickets.ord_ab12@boxoffice>",
        "task_queue_payments, risk_score 12",
        "amount 4500 EUR, 2 tickets, port 9464",
        "pi_3NabcDEF (no secret)",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_line_shape_and_masking_of_message_args_extras_and_traceback(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = lines
    try:
        raise ValueError("Stripe refused sk_live_abcdef123 for ada@example.com")
    except ValueError:
        logger.warning(
            "paid by %s with %s",
            "grace@example.org",
            "4242 4242 4242 4242",
            exc_info=True,
            extra={
                "order_id": ORDER,
                "buyer": {"email": "grace@example.org", "cards": ["4000000000000341"]},
                "client_secret": "pi_123_secret_456",
            },
        )
    line = last_line(buffer)
    assert line["level"] == "WARNING"
    assert line["logger"] == "boxoffice.tests.json"
    assert line["service"] == "tests"
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]
    assert line["message"] == "paid by g***@example.org with ****4242"
    assert line["order_id"] == line["workflow_id"] == ORDER
    assert line["buyer"] == {"email": "g***@example.org", "cards": ["****0341"]}
    assert line["client_secret"] == "pi_123_secret_***"
    assert "ValueError: Stripe refused sk_live_*** for a***@example.com" in line["exception"]
    raw = buffer.getvalue()
    for secret in ("grace@", "ada@", "sk_live_abc", "4242 4242", "4000000000000341", "_456"):
        assert secret not in raw


def test_order_and_workflow_come_from_temporal_activity_records(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = lines
    # What temporalio's activity logger puts on a record (activity_info_on_extra).
    details = {
        "activity_id": "7",
        "activity_type": "email_tickets",
        "attempt": 2,
        "namespace": "default",
        "task_queue": "fulfilment",
        "workflow_id": ORDER,
        "workflow_run_id": "run-1",
        "workflow_type": "PurchaseWorkflow",
    }
    logger.info("tickets sent", extra={"temporal_activity": details})
    line = last_line(buffer)
    assert line["message"] == "tickets sent"
    assert line["order_id"] == line["workflow_id"] == ORDER
    assert line["run_id"] == "run-1"
    assert line["activity_type"] == "email_tickets"
    assert line["attempt"] == 2
    assert line["task_queue"] == "fulfilment"
    assert "temporal_activity" not in line


def test_order_and_workflow_come_from_temporal_workflow_records(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, buffer = lines
    details = {
        "attempt": 1,
        "namespace": "default",
        "run_id": "run-2",
        "task_queue": "purchases",
        "workflow_id": ORDER,
        "workflow_type": "PurchaseWorkflow",
        "update_name": "pay",
    }
    logger.info("payment asked", extra={"temporal_workflow": details})
    line = last_line(buffer)
    assert line["order_id"] == line["workflow_id"] == ORDER
    assert line["run_id"] == "run-2"
    assert line["workflow_type"] == "PurchaseWorkflow"
    assert line["update_name"] == "pay"


def test_real_temporal_activity_logger_gives_fields_not_a_message_suffix() -> None:
    """Through temporalio's own LoggerAdapter, as configured by `configure_logging`."""
    from temporalio import activity

    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(Settings(_env_file=None), "worker", stream=buffer)
    try:
        # Outside an activity the adapter adds nothing: the plain message comes through.
        activity.logger.info("outside %s", "bob@example.com")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    line = last_line(buffer)
    assert line["message"] == "outside b***@example.com"
    assert line["service"] == "worker"
    assert line["logger"] == "temporalio.activity"
    assert activity.logger.activity_info_on_message is False


def test_uvicorn_access_lines_become_fields() -> None:
    buffer = io.StringIO()
    access = logging.getLogger("uvicorn.access")
    handler = JsonHandler("api", buffer)
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            f"/orders/{ORDER}/tickets.pdf?email=ada@example.com&token=bxo_Q2zF8kx0AbCdEf1234",
            "1.1",
            200,
        )
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    line = last_line(buffer)
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["path"] == f"/orders/{ORDER}/tickets.pdf?email=a***@example.com&token=bxo_***"
    assert line["order_id"] == ORDER
    assert "ada@" not in buffer.getvalue()
    assert "Q2zF8kx0" not in buffer.getvalue()


def test_configure_logging_is_idempotent() -> None:
    root = logging.getLogger()
    level = root.level
    settings = Settings(_env_file=None)
    first = configure_logging(settings, "api", stream=io.StringIO())
    second = configure_logging(settings, "api", stream=io.StringIO())
    try:
        ours = [h for h in root.handlers if isinstance(h, JsonHandler)]
        assert ours == [second]
        assert first not in root.handlers
    finally:
        root.removeHandler(second)
        root.setLevel(level)
