"""The kinds of refusal every domain's use cases raise, so each adapter maps them in one table
of its own (HTTP status: `core/http/errors.py`; exit code: each CLI) and a rule's refusal reads
the same wherever it is asked."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    NOT_FOUND = "not_found"
    #: The request itself is wrong (no change of state would make it right).
    INVALID = "invalid"
    #: The state of the order or event does not allow it now.
    REFUSED = "refused"
    SOLD_OUT = "sold_out"
    #: A limit on how often: payment attempts, requests.
    TOO_MANY = "too_many"
    #: A part of the system is away; the same request may succeed in a moment.
    UNAVAILABLE = "unavailable"


class DomainError(Exception):
    """A use case that cannot be done: `kind` for the adapters, `message` for people."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
