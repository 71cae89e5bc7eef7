"""Failures as Temporal stores them: the text encrypted, the type in the clear, and small enough
that the server keeps a pending activity's last failure whole (it keeps 4 KB)."""

from __future__ import annotations

import secrets

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from boxoffice.core.temporal.encryption.codec import encrypting_data_converter
from boxoffice.core.temporal.encryption.failures import (
    CAUSE_TRACE_CHARS,
    ENCODED_MESSAGE,
    MESSAGE_CHARS,
    TRACE_CHARS,
)
from boxoffice.core.temporal.encryption.keys import KeyRing

#: The server's limit on a pending activity's last failure (limit.mutableStateActivityFailureSize).
SERVER_KEEPS_BYTES = 4 * 1024
EMAIL = "refused.buyer@example.com"


def converter() -> DataConverter:
    return encrypting_data_converter(KeyRing({"k1": secrets.token_bytes(32)}, "k1"))


def _deep(frames: int, error: BaseException) -> None:
    if frames == 0:
        raise error
    _deeper(frames - 1, error)


def _deeper(frames: int, error: BaseException) -> None:
    # Two functions taking turns: Python folds a run of identical frames into one line.
    if frames == 0:
        raise error
    _deep(frames - 1, error)


def raised(error: BaseException, frames: int) -> BaseException:
    """`error` as raised under `frames` nested calls: with a long traceback."""
    try:
        _deep(frames, error)
    except BaseException as caught:
        return caught
    raise AssertionError("not raised")


def chained_network_error() -> BaseException:
    """An SMTP refusal quoting the address, raised from two lower-level errors, each with a
    deep traceback: what a real outage looks like to an activity."""
    root = raised(ConnectionResetError("connection reset by peer"), 60)
    broken = raised(OSError("the connection broke mid-send"), 20)
    broken.__cause__ = root
    refused = raised(RuntimeError(f"550 5.1.1 <{EMAIL}>: Recipient address rejected"), 40)
    refused.__cause__ = broken
    return refused


async def test_failure_text_is_encrypted_and_small_and_reads_back() -> None:
    data_converter = converter()
    error = chained_network_error()
    failure = Failure()

    await data_converter.encode_failure(error, failure)

    stored = failure.SerializeToString()
    assert EMAIL.encode() not in stored
    assert b"Recipient address rejected" not in stored
    assert failure.message == ENCODED_MESSAGE
    assert failure.application_failure_info.type == "RuntimeError"  # retry policies read it
    assert failure.cause.message == ENCODED_MESSAGE
    assert failure.ByteSize() < SERVER_KEEPS_BYTES, failure.ByteSize()

    decoded = await data_converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError)
    assert decoded.message == f"550 5.1.1 <{EMAIL}>: Recipient address rejected"
    assert decoded.type == "RuntimeError"
    # The innermost frames are the ones kept: where the error was raised.
    trace = decoded.failure.stack_trace if decoded.failure else ""
    assert len(trace) <= TRACE_CHARS
    assert "in _deep" in trace and trace.rstrip().endswith("raise error")
    cause = decoded.__cause__
    assert isinstance(cause, ApplicationError)
    assert cause.message == "the connection broke mid-send"
    assert cause.failure is not None and len(cause.failure.stack_trace) <= CAUSE_TRACE_CHARS
    root = cause.__cause__
    assert isinstance(root, ApplicationError)
    assert (root.type, root.message) == ("ConnectionResetError", "connection reset by peer")


async def test_short_failures_are_kept_whole() -> None:
    data_converter = converter()
    failure = Failure()
    raised = ApplicationError("Your card was declined.", type="CardDeclined", non_retryable=True)

    await data_converter.encode_failure(raised, failure)
    decoded = await data_converter.decode_failure(failure)

    assert isinstance(decoded, ApplicationError)
    assert (decoded.message, decoded.type, decoded.non_retryable) == (
        "Your card was declined.",
        "CardDeclined",
        True,
    )


async def test_a_huge_message_is_cut_to_its_start() -> None:
    data_converter = converter()
    failure = Failure()

    await data_converter.encode_failure(ValueError("x" * 50_000), failure)
    decoded = await data_converter.decode_failure(failure)

    assert failure.ByteSize() < SERVER_KEEPS_BYTES
    assert isinstance(decoded, ApplicationError)
    assert len(decoded.message) == MESSAGE_CHARS
    assert decoded.message.startswith("xxx") and decoded.message.endswith("…")
