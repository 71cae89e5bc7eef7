"""schemathesis hooks for our schema (loaded through SCHEMATHESIS_HOOKS).

JSON Schema's `email` format admits reserved domains (`.test`, `.local`, `.invalid`), which
the API refuses on purpose and says so in the field's description: mail to them goes nowhere,
and the order would end waiting on an email step that cannot succeed. Generate addresses the
API is meant to accept, so the fuzzer spends its time elsewhere."""

from __future__ import annotations

import email_validator
import schemathesis
from hypothesis import strategies as st


def _accepted(address: str) -> bool:
    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


schemathesis.openapi.format("email", st.emails().filter(_accepted))
