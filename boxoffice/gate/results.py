"""What a gate sends and gets back: the API's bodies, the service's answers and the CLI's input.

One set of models for all three, so the gate CLI parses exactly what the API documents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from boxoffice.core.http.fields import visible_text
from boxoffice.orders.tickets.codes import MAX_CODE_LENGTH

#: What an online scan can answer.
ScanResult = Literal["accepted", "already_used", "void", "invalid", "wrong_event"]
#: What an uploaded offline scan can turn out to be: `conflict` when another scan came first.
OfflineScanResult = Literal["accepted", "conflict", "void", "invalid", "wrong_event"]

# Longer input cannot be a code: refused (422) by the schema before any work.
Code = Annotated[str, StringConstraints(max_length=MAX_CODE_LENGTH)]
GateName = Annotated[str, visible_text(100)]
ScanId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]
MAX_SCANS_PER_UPLOAD = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ValidateRequest(_Strict):
    code: Code = Field(description="The text of the ticket's QR code.")
    gate: GateName | None = Field(default=None, description="Which gate scanned it.")
    scan_id: ScanId | None = Field(
        default=None,
        description="The gate's id for this scan: a retry with the same id gets the first answer.",
    )
    event_id: uuid.UUID | None = Field(
        default=None, description="Refuse tickets of other events (`wrong_event`)."
    )


class TicketAtGate(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    ticket_type_id: uuid.UUID
    ticket_type: str
    position: int = Field(description="The ticket's place in its order, from 0.")


class ScanAnswer(BaseModel):
    result: ScanResult
    message: str = Field(description="One line for the person at the gate.")
    ticket: TicketAtGate | None = Field(
        default=None, description="The ticket, for any code we signed."
    )
    checked_in_at: datetime | None = Field(
        default=None, description="When it got in (`accepted`, `already_used`)."
    )
    checked_in_gate: str | None = Field(default=None, description="Where it got in.")


class OfflineScan(_Strict):
    scan_id: ScanId
    code: Code
    scanned_at: datetime = Field(
        description="The gate's clock at the scan, with a time zone; a time in the future "
        "counts as the time of upload."
    )

    @field_validator("scanned_at")
    @classmethod
    def _zoned_and_not_ahead(cls, value: datetime) -> datetime:
        # Which scan came first is decided by these times, so they must be comparable. A gate
        # clock running ahead still recorded a real admission: it counts as of now, never
        # refused (that would lose it) and never later than scans that reach us after it.
        if value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2027-03-01T19:30:00Z")
        return min(value, datetime.now(UTC))


class OfflineScansUpload(_Strict):
    gate: GateName
    scans: list[OfflineScan] = Field(min_length=1, max_length=MAX_SCANS_PER_UPLOAD)


class OfflineScanAnswer(BaseModel):
    scan_id: str
    result: OfflineScanResult
    message: str
    ticket: TicketAtGate | None = None
    checked_in_at: datetime | None = Field(
        default=None, description="The first scan's time: this one's when `accepted`."
    )
    checked_in_gate: str | None = Field(default=None, description="The first scan's gate.")


class OfflineScansAnswer(BaseModel):
    event_id: uuid.UUID
    results: list[OfflineScanAnswer]
    accepted: int
    conflicts: int


class GateKey(BaseModel):
    key_id: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str = Field(description="PEM (SubjectPublicKeyInfo).")


class GateBundle(BaseModel):
    """All an offline gate needs to check codes with no connection."""

    event_id: uuid.UUID
    version: int = Field(
        description="Grows whenever a ticket of the event is voided or checked in: a gate "
        "holding a lower version should fetch again."
    )
    generated_at: datetime
    code_format: Literal["BX1"] = Field(
        default="BX1",
        description="BX1.<key id>.<base64url(ticket uuid + event uuid)>.<base64url(Ed25519 "
        "signature over everything before its dot)>.",
    )
    keys: list[GateKey]
    void_ticket_ids: list[uuid.UUID]
    checked_in_ticket_ids: list[uuid.UUID]


class TicketTypeCheckins(BaseModel):
    ticket_type_id: uuid.UUID
    name: str
    valid: int = Field(description="Tickets issued and not voided.")
    checked_in: int


class CheckinCounts(BaseModel):
    event_id: uuid.UUID
    valid: int
    checked_in: int
    void: int
    conflicts: int = Field(description="Offline scans of a ticket another scan let in first.")
    ticket_types: list[TicketTypeCheckins]
