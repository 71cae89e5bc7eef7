"""Field types every request and answer shares: text that is safe to show and store, whole
numbers as JSON sends them, money, the error body, and strict request models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

#: Characters no name or reason may hold: control characters (NUL, which PostgreSQL cannot
#: store; line breaks and terminal escapes, which would reach emails, PDFs and the support CLI)
#: and the invisible marks that reorder text (bidi overrides and isolates: "Ada\u202egnp.exe").
_UNSAFE = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
#: At least one character that is not blank in Python, JSON Schema (ECMA) or Rust regexes alike,
#: so what the schema admits is never stripped to nothing here (nor only zero-width), and
#: nothing unsafe.
VISIBLE = rf"^[^{_UNSAFE}]*[^\s{_UNSAFE}\u200b-\u200d\ufeff][^{_UNSAFE}]*$"
#: Free text (a reason): line breaks and tabs allowed, nothing else unsafe.
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
#: No NUL anywhere: PostgreSQL cannot store it in text.
NO_NUL = r"^[^\x00]*$"
#: What a refused pattern means, said in words (the patterns themselves are in the schema).
PATTERN_MEANS = {
    VISIBLE: "must not be blank, nor hold control characters or invisible bidi marks",
    TEXT: "must not hold control characters (line breaks and tabs aside) or bidi marks",
    NO_NUL: "must not hold NUL characters",
}


def visible_text(max_length: int) -> object:
    """Text that is not blank, trimmed, at most `max_length` characters."""
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=VISIBLE
    )


Name = Annotated[str, visible_text(200)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def a_number(value: object) -> object:
    """JSON `"1"` and `true` are not numbers, though lax validation would take them; `1.0`
    is one (JSON Schema's integer)."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("whole_number", "must be a JSON number, not a string or boolean")
    return value


#: A whole number as JSON sends it.
Whole = Annotated[int, BeforeValidator(a_number)]


class Strict(BaseModel):
    """A request body: unknown fields are refused, and numbers are `Whole`."""

    model_config = ConfigDict(extra="forbid")


class Money(BaseModel):
    amount: int = Field(description="In the currency's minor unit (cents).")
    currency: str


class ErrorBody(BaseModel):
    detail: str
