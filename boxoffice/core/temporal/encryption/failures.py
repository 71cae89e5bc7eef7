"""How errors are stored in Temporal: small, with their text encrypted.

An error's message can quote buyer data (an SMTP server refusing an address quotes it), so the
message and stack trace of every failure move into an encoded-attributes payload, which the
codec encrypts; the error type stays in the clear for retry policies and the UI.

The server keeps a pending activity's last failure only up to 4 KB (its mutable-state limit)
and says "Failure exceeds size limit." beyond it, which is what support reads for a stuck
order. A network error's chained tracebacks pass that, so each stack trace keeps only its
innermost frames (the end of the traceback, where the error was raised). Workers log the whole
traceback when an activity fails."""

from __future__ import annotations

from contextvars import ContextVar

import temporalio.api.failure.v1
from temporalio.converter import DefaultFailureConverter, PayloadConverter

#: The end of the outermost failure's stack trace that is kept, and of each cause's.
TRACE_CHARS = 1200
CAUSE_TRACE_CHARS = 400
#: A message longer than this (an error quoting a whole response body) is cut.
MESSAGE_CHARS = 1000
ENCODED_MESSAGE = "Encoded failure"

# How deep in a cause chain the conversion is: the base class converts causes by calling
# `to_failure` again, so this tells the outermost failure from its causes.
_depth: ContextVar[int] = ContextVar("failure_depth", default=0)


class CompactEncryptedFailureConverter(DefaultFailureConverter):
    def __init__(self) -> None:
        # Encoding is done here, after trimming; the base class would encode the untrimmed text.
        super().__init__(encode_common_attributes=False)

    def to_failure(
        self,
        exception: BaseException,
        payload_converter: PayloadConverter,
        failure: temporalio.api.failure.v1.Failure,
    ) -> None:
        depth = _depth.get()
        token = _depth.set(depth + 1)
        try:
            super().to_failure(exception, payload_converter, failure)
        finally:
            _depth.reset(token)
        if failure.HasField("encoded_attributes"):
            return  # an error that already carries its (encoded) failure
        trace_chars = TRACE_CHARS if depth == 0 else CAUSE_TRACE_CHARS
        failure.encoded_attributes.CopyFrom(
            payload_converter.to_payloads(
                [
                    {
                        "message": _tail(failure.message, MESSAGE_CHARS, keep_start=True),
                        "stack_trace": _tail(failure.stack_trace, trace_chars),
                    }
                ]
            )[0]
        )
        failure.message = ENCODED_MESSAGE
        failure.stack_trace = ""


def _tail(text: str, limit: int, *, keep_start: bool = False) -> str:
    if len(text) <= limit:
        return text
    if keep_start:
        return text[: limit - 1] + "…"
    return "…" + text[-(limit - 1) :]
