"""The codec endpoint: lets the Temporal UI (and `temporal --codec-endpoint`) show encrypted
payloads in the clear to operators, without the keys ever leaving our API.

It speaks Temporal's remote codec protocol: `POST /codec/decode` and `POST /codec/encode` take
`{"payloads": [{"metadata": {name: base64}, "data": base64}]}` and answer the same shape, with
the namespace in `X-Namespace`. The UI calls it from the browser, so these routes answer CORS
themselves, for the configured origins only: the rest of the API sends no CORS headers.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from temporalio.api.common.v1 import Payload

from boxoffice.auth.access import STAFF_ERRORS, OptionalPrincipal, require_roles
from boxoffice.core.http.deps import SettingsDep, TemporalDep
from boxoffice.core.http.fields import ErrorBody
from boxoffice.core.temporal.encryption.codec import EncryptionCodec, PayloadDecryptionError

#: The browser sends these with each codec call (authorization once the UI passes its token).
_ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"
#: A payload list the UI sends is one history page; this bounds the work of one request.
MAX_PAYLOADS = 1000
UNREADABLE = (
    "A payload could not be decrypted: it was altered, or its key is not configured here "
    "(the API's log says which)."
)
log = logging.getLogger("boxoffice.codec")


#: Standard base64, padded: what Temporal's protobuf JSON uses for bytes.
Base64 = Annotated[
    str,
    StringConstraints(pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"),
]


class CodecPayload(BaseModel):
    """A Temporal Payload in protobuf JSON: bytes are base64."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, Base64] = Field(default_factory=dict)
    data: Base64 = ""


class CodecPayloads(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payloads: list[CodecPayload] = Field(max_length=MAX_PAYLOADS)


async def cors_headers(request: Request, settings: SettingsDep) -> dict[str, str]:
    """CORS response headers for the request's origin when it is allowed, else none."""
    origin = request.headers.get("origin")
    if origin is None or origin.rstrip("/") not in settings.codec_origins:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


CorsDep = Annotated[dict[str, str], Depends(cors_headers)]


@dataclass(frozen=True)
class CodecCall:
    """One codec request: the API's codec and the CORS headers every answer carries."""

    codec: EncryptionCodec
    cors: dict[str, str]

    async def apply(
        self,
        body: CodecPayloads,
        transform: Callable[[Sequence[Payload]], Awaitable[list[Payload]]],
    ) -> CodecPayloads:
        try:
            payloads = [
                Payload(
                    metadata={name: _b64(value) for name, value in p.metadata.items()},
                    data=_b64(p.data),
                )
                for p in body.payloads
            ]
            transformed = await transform(payloads)
        except binascii.Error as exc:
            raise HTTPException(400, str(exc), headers=self.cors) from None
        except PayloadDecryptionError as exc:
            # Which keys exist is the operators' to know, not the caller's: logged, not said.
            log.warning("codec: %s", exc)
            raise HTTPException(400, UNREADABLE, headers=self.cors) from None
        return CodecPayloads(
            payloads=[
                CodecPayload(
                    metadata={name: _b64text(value) for name, value in p.metadata.items()},
                    data=_b64text(p.data),
                )
                for p in transformed
            ]
        )


async def codec_call(
    client: TemporalDep,
    settings: SettingsDep,
    cors: CorsDep,
    response: Response,
    x_namespace: Annotated[str | None, Header()] = None,
) -> CodecCall:
    """Uses the API's own Temporal client's codec, so the endpoint reads exactly what the API
    writes; serves our namespace only: our keys are not for another application's payloads."""
    codec = client.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        raise HTTPException(503, "payload encryption is not configured in this process")
    if x_namespace is not None and x_namespace != settings.temporal_namespace:
        # Not ours to decode: there is no codec here for that namespace.
        raise HTTPException(
            404, f"this codec serves namespace {settings.temporal_namespace!r}", headers=cors
        )
    response.headers.update(cors)
    return CodecCall(codec, cors)


CodecCallDep = Annotated[CodecCall, Depends(codec_call)]


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise binascii.Error("payload metadata and data must be base64") from None


def _b64text(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_operators = require_roles("support", "admin")


async def codec_access(
    request: Request, settings: SettingsDep, principal: OptionalPrincipal
) -> None:
    """Support and admin only: decoded payloads hold buyers' names and emails.

    The dev stack opens decoding (CODEC_ALLOW_ANONYMOUS, refused at start outside dev) to its
    own Temporal UI, which cannot send a token: only a decode, only from the UI's origin, only
    over loopback. Encoding, which lets a caller forge what the workers will read, always needs
    a token."""
    if settings.codec_allow_anonymous and principal is None and _the_dev_ui(request, settings):
        return
    await _operators(principal)


def _the_dev_ui(request: Request, settings: SettingsDep) -> bool:
    origin = (request.headers.get("origin") or "").rstrip("/")
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return loopback and request.url.path.endswith("/decode") and origin in settings.codec_origins


codec_routes = APIRouter(dependencies=[Depends(codec_access)], responses=STAFF_ERRORS)
# Open: a browser's CORS preflight carries no credentials.
preflight_routes = APIRouter(include_in_schema=False)

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "not base64, or a payload that does not decrypt"},
    404: {"model": ErrorBody, "description": "another namespace (X-Namespace)"},
}


@codec_routes.post("/decode", responses=_ERRORS)
async def decode_payloads(body: CodecPayloads, call: CodecCallDep) -> CodecPayloads:
    """Payloads as Temporal stored them → the payloads the application wrote."""
    return await call.apply(body, call.codec.decode)


@codec_routes.post("/encode", responses=_ERRORS)
async def encode_payloads(body: CodecPayloads, call: CodecCallDep) -> CodecPayloads:
    """Payloads typed in the UI (e.g. a signal's input) → encrypted as the workers expect them."""
    return await call.apply(body, call.codec.encode)


@preflight_routes.options("/decode")
@preflight_routes.options("/encode")
async def preflight(cors: CorsDep) -> Response:
    """The browser asks whether it may POST from the UI's origin."""
    headers = dict(cors)
    if "Access-Control-Allow-Origin" in headers:
        headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        headers["Access-Control-Allow-Headers"] = _ALLOWED_HEADERS
        headers["Access-Control-Max-Age"] = "600"
    return Response(status_code=204, headers=headers)


router = APIRouter(prefix="/codec", tags=["codec"])
router.include_router(codec_routes)
router.include_router(preflight_routes)
