"""schemathesis hooks for our schema (loaded through SCHEMATHESIS_HOOKS).

JSON Schema's `email` format admits reserved domains (`.test`, `.local`, `.invalid`), which
the API refuses on purpose and says so in the field's description: mail to them goes nowhere,
and the order would end waiting on an email step that cannot succeed. Generate addresses the
API is meant to accept, so the fuzzer spends its time elsewhere.

Times (`date-time`) come with the extremes an attack used: the first and last instants
Python can hold, with offsets of almost a day either way, so one that PostgreSQL stores but
cannot give back (year 10000 in UTC) is tried on every route that takes a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

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

_EDGE_TIMES = [
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2030-02-29T20:00:00Z",  # not a date
    "2030-01-01T20:00:00",  # no time zone
]
_OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_SOON = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2036, 1, 1), timezones=_OFFSETS
)
_ANY = st.datetimes(timezones=_OFFSETS)

schemathesis.openapi.format(
    "date-time",
    st.one_of(
        st.sampled_from(_EDGE_TIMES),
        _ANY.map(datetime.isoformat),
        # Mostly near now, so requests also get past the time checks to the rest.
        _SOON.map(datetime.isoformat),
        st.just(datetime.now(UTC) + timedelta(days=30)).map(datetime.isoformat),
    ),
)
