"""`boxoffice gate`: validate tickets at the door against the API, for staff without the app.

Codes come from the command line, from pictures (`--image`: a PNG/JPEG of the QR code, or the
tickets PDF itself), or typed/pasted one per line on standard input.

Exit codes: 0 every ticket accepted, 1 some ticket refused, 2 bad input (no code in a picture,
an unreadable file, a request the API refused), 3 the API could not be reached.
"""

from __future__ import annotations

import logging
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx
import typer
from pydantic import ValidationError

from boxoffice.core.command_settings import command_settings
from boxoffice.gate.results import ScanAnswer

_REFUSED, _BAD_INPUT, _UNREACHABLE = 1, 2, 3
#: A scan is retried with the same scan id, so a lost answer is never an `already_used`.
_ATTEMPTS = 3


class _Unreachable(Exception):
    pass


def gate(
    codes: Annotated[
        list[str] | None, typer.Argument(help="Ticket codes; none and no --image: read stdin.")
    ] = None,
    image: Annotated[
        list[Path] | None,
        typer.Option("--image", "-i", help="A picture of a QR code, or a tickets PDF."),
    ] = None,
    api: Annotated[
        str | None, typer.Option(help="The API's base URL; default $PUBLIC_BASE_URL.")
    ] = None,
    gate_name: Annotated[
        str | None, typer.Option("--gate", help="This gate's name; default the host name.")
    ] = None,
    event: Annotated[
        uuid.UUID | None, typer.Option(help="Refuse tickets of any other event.")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="BOXOFFICE_TOKEN",
            help="A bearer token with the gate role (`boxoffice token --role gate`).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Validate tickets: each one gets in once; a second scan says when and where it got in."""
    base = api or command_settings().public_base_url
    # One line per scan is the whole output: httpx's per-request log lines would bury it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    name = gate_name or socket.gethostname()
    refused = bad = False
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base, timeout=10, trust_env=False, headers=headers) as http:
        for source, code in _codes(codes or [], image or []):
            if code is None:
                typer.echo(f"NO CODE    {source}: no QR code found", err=True)
                bad = True
                continue
            try:
                answer = _validate(http, code, name, event)
            except _Unreachable as error:
                typer.echo(f"cannot reach the API at {base}: {error}", err=True)
                raise typer.Exit(_UNREACHABLE) from None
            if answer is None:
                bad = True
                continue
            typer.echo(_line(answer))
            refused |= answer.result != "accepted"
    raise typer.Exit(_BAD_INPUT if bad else _REFUSED if refused else 0)


def _codes(codes: list[str], images: list[Path]) -> Iterator[tuple[str, str | None]]:
    """(where it came from, code or None when a picture held none), in the order given."""
    for code in codes:
        yield "argument", code.strip()
    if images:
        yield from _codes_in_pictures(images)
    if not codes and not images:
        if sys.stdin.isatty():
            typer.echo("Scan or paste a code per line; Ctrl-D to finish.", err=True)
        for line in sys.stdin:
            if line.strip():
                yield "stdin", line.strip()


def _codes_in_pictures(images: list[Path]) -> Iterator[tuple[str, str | None]]:
    try:
        from boxoffice.gate.qr_reader import UnreadableImage, codes_in_file
    except ImportError:
        # The picture readers are an extra: a server image needs none of them.
        typer.echo(
            "error: reading QR codes from pictures needs the gate extra: "
            "pip install 'boxoffice[gate]'",
            err=True,
        )
        raise typer.Exit(_BAD_INPUT) from None
    for path in images:
        try:
            found = codes_in_file(path)
        except UnreadableImage as error:
            typer.echo(f"UNREADABLE {path}: {error}", err=True)
            raise typer.Exit(_BAD_INPUT) from None
        if not found:
            yield str(path), None
        for code in found:
            yield str(path), code


def _validate(
    http: httpx.Client, code: str, gate: str, event: uuid.UUID | None
) -> ScanAnswer | None:
    body: dict[str, str] = {"code": code, "gate": gate, "scan_id": str(uuid.uuid4())}
    if event is not None:
        body["event_id"] = str(event)
    last_error: Exception | None = None
    for _ in range(_ATTEMPTS):
        try:
            response = http.post("/tickets/validate", json=body)
        except httpx.TransportError as error:
            last_error = error
            continue
        if response.status_code >= 500:
            last_error = RuntimeError(f"{response.status_code} {response.text[:200]}")
            continue
        if response.status_code != 200:
            typer.echo(f"REFUSED    {_detail(response)}", err=True)
            return None
        try:
            return ScanAnswer.model_validate_json(response.content)
        except ValidationError:
            raise _Unreachable(f"not a boxoffice API answer: {response.text[:200]}") from None
    raise _Unreachable(str(last_error))


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code} {response.text[:200]}"


def _line(answer: ScanAnswer) -> str:
    label = answer.result.upper().replace("_", " ")
    what = ""
    if answer.ticket is not None:
        what = f"  {answer.ticket.ticket_type}  ticket {answer.ticket.id}"
    return f"{label:<14}{answer.message}{what}"
