"""Gate routes: validate a ticket online, the offline gate bundle, uploaded offline scans and
check-in counts."""

from __future__ import annotations

import uuid
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.auth.access import RATE_LIMITED, STAFF_ERRORS, limit_validations, require_roles
from boxoffice.core.database.models import Event
from boxoffice.core.http.deps import SessionDep
from boxoffice.core.http.fields import ErrorBody
from boxoffice.gate.checkin import CheckIn, ScanIdReused
from boxoffice.gate.event_gate import checkin_counts, gate_bundle
from boxoffice.gate.results import (
    CheckinCounts,
    GateBundle,
    OfflineScansAnswer,
    OfflineScansUpload,
    ScanAnswer,
    ValidateRequest,
)

router = APIRouter(tags=["gate"], responses=STAFF_ERRORS)
#: Validation and what offline gates need: gate staff, and admins who may stand in for them.
_gate = require_roles("gate", "admin")
#: Check-in counts are a report: admins, support, and gate staff watching their door.
_reports = require_roles("admin", "support", "gate")


async def get_public_keys(request: Request) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = request.app.state.ticket_public_keys
    return keys


async def get_check_in(request: Request) -> CheckIn:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return CheckIn(sessions, await get_public_keys(request))


PublicKeysDep = Annotated[dict[str, Ed25519PublicKey], Depends(get_public_keys)]
CheckInDep = Annotated[CheckIn, Depends(get_check_in)]
_NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}}


async def _require_event(session: AsyncSession, event_id: uuid.UUID) -> None:
    if await session.get(Event, event_id) is None:
        raise HTTPException(404, f"No event with id {event_id}.")


@router.post(
    "/tickets/validate",
    response_model=ScanAnswer,
    responses={
        409: {"model": ErrorBody},
        413: {"model": ErrorBody},
        422: {"model": ErrorBody},
        **RATE_LIMITED,
    },
    dependencies=[Depends(_gate), Depends(limit_validations)],
)
async def validate_ticket(body: ValidateRequest, check_in: CheckInDep) -> ScanAnswer:
    """Check a scanned code and let its ticket in once. Always 200 with a `result` for any code
    up to 512 characters, garbage included; two gates scanning one ticket at the same moment
    admit it once. Repeating a `scan_id` returns the first answer."""
    try:
        return await check_in.validate(
            body.code, gate=body.gate, scan_id=body.scan_id, event_id=body.event_id
        )
    except ScanIdReused as reused:
        raise HTTPException(409, str(reused)) from None


@router.get(
    "/events/{event_id}/gate-bundle",
    response_model=GateBundle,
    responses={**_NOT_FOUND, 304: {"description": "Unchanged since the ETag sent."}},
    dependencies=[Depends(_gate)],
)
async def get_gate_bundle(
    event_id: uuid.UUID,
    session: SessionDep,
    public_keys: PublicKeysDep,
    response: Response,
    if_none_match: Annotated[str | None, Header(max_length=200)] = None,
) -> GateBundle | Response:
    """What an offline gate needs: the public keys, voided and checked-in tickets, a version.

    Send the last `ETag` as `If-None-Match` to get `304` when nothing changed."""
    await _require_event(session, event_id)
    bundle = await gate_bundle(session, event_id, public_keys)
    etag = f'"{bundle.version}-{"-".join(k.key_id for k in bundle.keys)}"'
    if if_none_match == etag:
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return bundle


@router.post(
    "/events/{event_id}/scans",
    response_model=OfflineScansAnswer,
    responses={
        **_NOT_FOUND,
        409: {"model": ErrorBody},
        413: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
    dependencies=[Depends(_gate)],
)
async def upload_offline_scans(
    event_id: uuid.UUID, body: OfflineScansUpload, session: SessionDep, check_in: CheckInDep
) -> OfflineScansAnswer:
    """Scans an offline gate made, uploaded once it is back online (idempotent by scan id).

    The earliest scan of a ticket wins; any other scan of it is reported as a `conflict`."""
    await _require_event(session, event_id)
    try:
        return await check_in.record_offline(event_id, body.gate, body.scans)
    except ScanIdReused as reused:
        raise HTTPException(409, str(reused)) from None


@router.get(
    "/events/{event_id}/checkins",
    response_model=CheckinCounts,
    responses=_NOT_FOUND,
    dependencies=[Depends(_reports)],
)
async def get_checkins(event_id: uuid.UUID, session: SessionDep) -> CheckinCounts:
    """How many tickets got in, per ticket type."""
    await _require_event(session, event_id)
    return await checkin_counts(session, event_id)
