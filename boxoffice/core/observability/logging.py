"""JSON logs: one object per line, with timestamp, level, logger, message and service, and
`order_id`/`workflow_id` whenever the record knows them (an order's workflow id is its order id).

Temporal's activity and workflow loggers put their context in the record (`temporal_activity`,
`temporal_workflow`); it becomes flat fields here instead of a dict appended to the message.

Nothing secret or personal reaches a log line: every message, extra field and traceback is
masked first. Emails keep their first letter and domain (`a***@example.com`), Stripe secret keys
their prefix (`sk_live_***`, `whsec_***`), PaymentIntent client secrets their intent
(`pi_123_secret_***`), guests' order tokens their prefix (`bxo_***`), and card numbers (13 to
19 digits, grouped or not) their last four (`****4242`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from temporalio import activity, workflow

from boxoffice.core.settings import Settings

_CLIENT_SECRET = re.compile(r"\b((?:pi|seti)_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+")
# The trailing look-ahead keeps an already masked key (`sk_test_***`) as it is.
_STRIPE_SECRET = re.compile(r"\b((?:sk|rk)_(?:live_|test_)?|whsec_)[A-Za-z0-9_]+(?![A-Za-z0-9_*])")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9_%+-])[A-Za-z0-9._%+-]*(@|%40)((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})"
)
_CARD = re.compile(
    r"(?<![A-Za-z0-9-])"
    r"(?:\d{13,19}"  # 4242424242424242
    r"|\d{4}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?"  # 4242 4242 4242 4242, 4242-4242-4242-4242
    r"|\d{4}[ -]\d{6}[ -]\d{4,5})"  # 3782 822463 10005 (American Express, Diners)
    r"(?![A-Za-z0-9-])"
)
#: A guest's order access token (`bxo_` + HMAC): in a header it is never logged, but the PDF
#: link carries it in its query string, which uvicorn's access log keeps.
_ORDER_TOKEN = re.compile(r"\bbxo_[A-Za-z0-9_-]+(?![A-Za-z0-9_*-])")
_ORDER_IN_PATH = re.compile(r"/orders/(ord_[0-9a-f]{32})\b")


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"****{digits[-4:]}"


def mask_text(text: str) -> str:
    """The text with emails, Stripe secrets, client secrets and card numbers masked."""
    text = _ORDER_TOKEN.sub("bxo_***", text)
    text = _CLIENT_SECRET.sub(r"\1_secret_***", text)
    text = _STRIPE_SECRET.sub(r"\1***", text)
    text = _EMAIL.sub(r"\1***\2\3", text)
    return _CARD.sub(_mask_card, text)


def mask_value(value: Any) -> Any:
    """`mask_text` through strings, mappings and sequences; anything else as it is."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_value(item) for item in value]
    return value


#: Attributes every LogRecord has; anything else on a record came as `extra`.
_RECORD_ATTRIBUTES: Final = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName"}
#: Extras that are not for the output: Temporal's context (made flat fields) and objects.
_NOT_OUTPUT: Final = frozenset(
    {
        "temporal_activity",
        "temporal_workflow",
        "temporal_log",
        "activity_info",
        "workflow_info",
        "color_message",  # uvicorn's message again, with terminal colours
    }
)
#: Temporal context keys copied to the line as they are.
_TEMPORAL_FIELDS: Final = (
    "workflow_type",
    "activity_type",
    "activity_id",
    "attempt",
    "task_queue",
    "update_name",
    "update_id",
)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
    }


class MaskingFilter(logging.Filter):
    """Masks the record in place: its message (rendered with its args) and every extra."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad args: keep what there is rather than lose the record
            message = f"{record.msg} {record.args}"
        record.msg = mask_text(message)
        record.args = None
        for key, value in _extras(record).items():
            if key not in _NOT_OUTPUT:
                setattr(record, key, mask_value(value))
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


class AccessLogFields(logging.Filter):
    """uvicorn's access lines as fields too: client, method, path, status (and the order)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, _version, status = args
            record.client = client
            record.method = method
            record.path = path
            record.status = status
            found = _ORDER_IN_PATH.search(str(path))
            if found and not hasattr(record, "order_id"):
                record.order_id = found.group(1)
        return True


def temporal_fields(record: logging.LogRecord) -> dict[str, Any]:
    """`order_id`, `workflow_id` and the rest of Temporal's context, from the record."""
    fields: dict[str, Any] = {}
    context = getattr(record, "temporal_activity", None) or getattr(
        record, "temporal_workflow", None
    )
    if isinstance(context, Mapping):
        workflow_id = context.get("workflow_id")
        if workflow_id:
            fields["order_id"] = fields["workflow_id"] = workflow_id
        run_id = context.get("workflow_run_id") or context.get("run_id")
        if run_id:
            fields["run_id"] = run_id
        for key in _TEMPORAL_FIELDS:
            if context.get(key) is not None:
                fields[key] = context[key]
    # Given explicitly (`extra={"order_id": ...}`): that wins, and names the workflow too.
    order_id = getattr(record, "order_id", None)
    workflow_id = getattr(record, "workflow_id", None)
    if order_id or workflow_id:
        fields["order_id"] = order_id or workflow_id
        fields["workflow_id"] = workflow_id or order_id
    return fields


def _json_default(value: object) -> str:
    return mask_text(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record. Masks again what it writes, so it is safe even on a handler
    without `MaskingFilter`."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
            "service": self.service,
        }
        line.update(temporal_fields(record))
        for key, value in _extras(record).items():
            if key not in _NOT_OUTPUT and key not in line:
                line[key] = mask_value(value)
        if record.exc_info:
            line["exception"] = mask_text(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = mask_text(record.exc_text)
        if record.stack_info:
            line["stack"] = mask_text(self.formatStack(record.stack_info))
        return json.dumps(line, default=_json_default, ensure_ascii=False)


class JsonHandler(logging.StreamHandler[TextIO]):
    """Writes JSON lines to `stream`, or to whatever `sys.stderr` is at the time (test runners
    replace it)."""

    def __init__(self, service: str, stream: TextIO | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self._follow_stderr = stream is None
        self.addFilter(AccessLogFields())
        self.addFilter(MaskingFilter())
        self.setFormatter(JsonFormatter(service))

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr and self.stream is not sys.stderr:
            self.stream = sys.stderr
        super().emit(record)


def configure_logging(
    settings: Settings, service: str, *, stream: TextIO | None = None
) -> JsonHandler:
    """Send this process's logs, as JSON lines, through one masked handler on the root logger.

    Safe to call again (the previous JSON handler is replaced); handlers others put on the root
    logger stay. uvicorn's own loggers are routed through it too, the access log included
    (unless uvicorn was started with `--no-access-log`)."""
    handler = JsonHandler(service, stream)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, JsonHandler):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if logger.handlers:  # uvicorn's plain-text handlers: use ours instead
            logger.handlers.clear()
            logger.propagate = True
    # The JSON line carries Temporal's context as fields; no need to repeat it in the message.
    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False
    return handler
