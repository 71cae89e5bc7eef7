"""How every domain's command runs one use case: connect to the database (and Temporal),
call the service, disconnect; a refusal, a missing setting or a part that is away becomes one
line on stderr and an exit code, never a traceback.

Exit codes: 0 done, 1 refused by the state of the order or event, 2 bad input (also typer's
usage errors and a missing setting), 3 not found, 4 the database or Temporal is away."""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import typer

from boxoffice.core.command_settings import command_settings
from boxoffice.core.errors import DomainError, ErrorKind

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
    from temporalio.client import Client

    from boxoffice.core.settings import Settings

T = TypeVar("T")
#: How a refusal ends the command (the exit codes in this module's docstring).
EXIT_CODE: dict[ErrorKind, int] = {
    ErrorKind.REFUSED: 1,
    ErrorKind.SOLD_OUT: 1,
    ErrorKind.TOO_MANY: 1,
    ErrorKind.INVALID: 2,
    ErrorKind.NOT_FOUND: 3,
    ErrorKind.UNAVAILABLE: 4,
}


@dataclass
class Parts:
    """What a command's service is built from."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    temporal: Client


def actor(given: str | None, default: str) -> str:
    """Who acts, for the audit log: --actor, else $BOXOFFICE_ACTOR, else the login."""
    if given and given.strip():
        return given.strip()
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = default
    return os.environ.get("BOXOFFICE_ACTOR") or login


def fail(message: str, kind: ErrorKind) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_CODE[kind])


def run(work: Callable[[Parts], Awaitable[T]], *, lazy_temporal: bool = False) -> T:
    """Run `work` with the parts; `lazy_temporal`: connect to Temporal only when asked (the
    command works while Temporal is away unless it needs it)."""
    from sqlalchemy.exc import DBAPIError

    from boxoffice.core.command_settings import MissingSetting
    from boxoffice.core.database.engine import create_engine, session_factory
    from boxoffice.core.temporal.client import connect

    async def main() -> T:
        settings = command_settings()
        engine = create_engine(settings, pool_size=2)
        try:
            try:
                temporal = await connect(settings, lazy=lazy_temporal)
            except RuntimeError as away:
                where = settings.temporal_address
                raise DomainError(ErrorKind.UNAVAILABLE, f"Temporal at {where}: {away}") from None
            return await work(Parts(settings, session_factory(engine), temporal))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as error:
        raise fail(error.message, error.kind) from None
    except MissingSetting as missing:
        typer.echo(f"error: {missing}", err=True)
        raise typer.Exit(2) from None
    except (DBAPIError, OSError) as away:
        first = str(getattr(away, "orig", None) or away).strip().splitlines()[0]
        raise fail(f"the database is unreachable: {first}", ErrorKind.UNAVAILABLE) from None
