"""`boxoffice events ...`: the organiser's commands, on the same services as the admin API
(`POST /events`, `PATCH /events/{id}`, the report). The bodies are checked by the API's own
schemas, so a command refuses what the API refuses, with the same words. Ticket types and
add-ons are in `cli_catalogue.py`, cancelling and postponing in `lifecycle/cli.py`.

Exit codes (`core/cli_runner.py`): 0 done, 1 refused by the event's state, 2 bad input,
3 unknown event, 4 the database or Temporal is away."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from boxoffice.core.cli_runner import Parts, actor, fail, run
from boxoffice.core.errors import ErrorKind

events_app = typer.Typer(
    help="Organisers: create, edit, report on, postpone and cancel events.", no_args_is_help=True
)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

ActorOpt = Annotated[
    str | None, typer.Option("--actor", help="Who acts; default $BOXOFFICE_ACTOR or the login.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ClearOpt = Annotated[
    list[str] | None, typer.Option("--clear", help="Empty this field (repeatable), e.g. ends_at.")
]
TimeOpt = Annotated[str | None, typer.Option(help="With a time zone, e.g. 2027-03-01T20:00+01:00.")]


def who(given: str | None) -> str:
    return actor(given, "organiser")


def body(model: type[M], fields: dict[str, Any], clear: list[str] | None = None) -> M:
    """The options given (None: not given), checked as the API checks its body."""
    sent = {name: value for name, value in fields.items() if value is not None}
    sent |= dict.fromkeys(clear or [])
    try:
        return model.model_validate(sent)
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in invalid.errors()
        )
        raise fail(problems, ErrorKind.INVALID) from None


def show_json(data: BaseModel | Any) -> None:
    dumped = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    typer.echo(json.dumps(dumped, indent=2, default=str))


def in_sessions(work: Callable[[Parts], Awaitable[T]]) -> T:
    """A catalogue use case: it needs the database only (Temporal is connected lazily)."""
    return run(work, lazy_temporal=True)


def print_event(event: Any, as_json: bool) -> None:
    from boxoffice.events.cli_view import print_event

    if as_json:
        show_json(event)
    else:
        print_event(event)


@events_app.command("create")
def create(
    file: Annotated[
        Path, typer.Argument(help="The event as POST /events takes it (JSON); - reads stdin.")
    ],
    draft: Annotated[bool, typer.Option("--draft", help="Create it as a draft.")] = False,
    who_acts: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an event (on sale at once unless --draft or the file says "status": "draft")."""
    from boxoffice.events.schemas import EventCreate
    from boxoffice.events.service import EventService

    try:
        raw = sys.stdin.read() if str(file) == "-" else file.read_text()
        fields = json.loads(raw)
    except (OSError, json.JSONDecodeError) as bad:
        raise fail(f"{file}: {bad}", ErrorKind.INVALID) from None
    if not isinstance(fields, dict):
        raise fail(f"{file}: must hold one JSON object, the event", ErrorKind.INVALID)
    if draft:
        fields["status"] = "draft"
    created = body(EventCreate, fields)

    async def work(parts: Parts) -> Any:
        service = EventService(parts.sessions, parts.settings.default_refund_cutoff_hours)
        return await service.create(created, who(who_acts))

    print_event(in_sessions(work), as_json)


@events_app.command("show")
def show(event_id: uuid.UUID, as_json: JsonOpt = False) -> None:
    """The event as its organiser sees it: drafts, hidden ticket types and add-ons too."""
    from boxoffice.events.service import EventService

    async def work(parts: Parts) -> Any:
        service = EventService(parts.sessions, parts.settings.default_refund_cutoff_hours)
        return await service.for_organiser(event_id)

    print_event(in_sessions(work), as_json)


@events_app.command("update")
def update(
    event_id: uuid.UUID,
    name: Annotated[str | None, typer.Option()] = None,
    venue: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    starts_at: TimeOpt = None,
    ends_at: TimeOpt = None,
    refund_cutoff_hours: Annotated[int | None, typer.Option(min=0)] = None,
    status: Annotated[str | None, typer.Option(help="on_sale, sales_closed or over.")] = None,
    clear: ClearOpt = None,
    who_acts: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change what is given (PATCH /events/{id}); --status on_sale opens a draft's sales."""
    from boxoffice.events.editing import EventEditing
    from boxoffice.events.schemas import EventUpdate

    patch = body(
        EventUpdate,
        {
            "name": name,
            "venue": venue,
            "description": description,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "refund_cutoff_hours": refund_cutoff_hours,
            "status": status,
        },
        clear,
    )

    async def work(parts: Parts) -> Any:
        return await EventEditing(parts.sessions).update(event_id, patch, who(who_acts))

    print_event(in_sessions(work), as_json)


@events_app.command("delete")
def delete(event_id: uuid.UUID, who_acts: ActorOpt = None) -> None:
    """Delete a draft with no orders (anything else is kept: set it over instead)."""
    from boxoffice.events.editing import EventEditing

    async def work(parts: Parts) -> None:
        await EventEditing(parts.sessions).delete(event_id, who(who_acts))

    in_sessions(work)
    typer.echo(f"deleted draft {event_id}")


@events_app.command("report")
def report(
    event_id: uuid.UUID,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV, a line per type or add-on.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Per ticket type and add-on: capacity, sold, held, refunded, checked in, revenue."""
    from boxoffice.events.cli_view import print_report
    from boxoffice.events.report import event_report

    async def work(parts: Parts) -> Any:
        return await event_report(parts.sessions, event_id)

    found = in_sessions(work)
    if as_csv:
        typer.echo(found.csv(), nl=False)
    elif as_json:
        show_json(found)
    else:
        print_report(found)
