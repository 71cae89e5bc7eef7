"""`boxoffice orders ...`: support's commands, on the same service layer as `/admin/orders`.

Exit codes (`core/cli_runner.py`): 0 done, 1 refused by the order's state, 2 bad input (also
typer's usage errors and a missing setting), 3 unknown order, 4 the database or Temporal is
away."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from boxoffice.core.cli_runner import Parts, actor, run
from boxoffice.orders.cli_view import print_detail, print_orders

if TYPE_CHECKING:
    from boxoffice.orders.support import Action, SupportService

orders_app = typer.Typer(help="Find stuck orders; retry, cancel, refund, resend, extend.")
T = TypeVar("T")

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")]
ActorOpt = Annotated[
    str | None, typer.Option("--actor", help="Who acts; default $BOXOFFICE_ACTOR or the login.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
StatusOpt = Annotated[str | None, typer.Option("--status", help="e.g. needs_attention")]
EventOpt = Annotated[uuid.UUID | None, typer.Option("--event", help="Event id.")]


def _actor(given: str | None) -> str:
    return actor(given, "support")


def _run(work: Callable[[SupportService], Awaitable[T]]) -> T:
    """One support use case (see `core/cli_runner.py` for what a failure prints)."""

    async def with_support(parts: Parts) -> T:
        from boxoffice.orders.client import OrderClient
        from boxoffice.orders.support import SupportService

        client = OrderClient(parts.temporal, parts.settings)
        return await work(SupportService(parts.sessions, client, parts.settings))

    return run(with_support)


def _print(data: Any, as_json: bool) -> None:
    typer.echo(json.dumps(data, default=str, indent=2) if as_json else data)


def _report(outcomes: list[Any], as_json: bool) -> None:
    if as_json:
        _print([asdict(o) for o in outcomes], True)
    else:
        for o in outcomes:
            mark = "ok" if o.ok else "REFUSED"
            typer.echo(f"{o.order_id}  {o.action}  {mark}  status={o.status}  {o.detail}")
    if any(not o.ok for o in outcomes):
        raise typer.Exit(1)


@orders_app.command("list")
def list_orders(
    status: StatusOpt = None,
    event: EventOpt = None,
    email: Annotated[str | None, typer.Option("--email", help="Buyer's email.")] = None,
    before: Annotated[datetime | None, typer.Option("--before", help="Created before.")] = None,
    after: Annotated[datetime | None, typer.Option("--after", help="Created after.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Orders matching the filters, oldest first, with age, last error and Temporal link."""
    from boxoffice.orders.support import OrderFilter

    found = _run(lambda s: s.list_orders(OrderFilter(status, event, email, before, after, limit)))
    if as_json:
        _print([asdict(o) for o in found], True)
        return
    print_orders(found)


@orders_app.command("show")
def show(order_id: str, as_json: JsonOpt = False) -> None:
    """The order, its holds, payments, tickets, emails, audit trail and workflow state."""
    detail = asdict(_run(lambda s: s.show(order_id)))
    if as_json:
        _print(detail, True)
        return
    print_detail(detail)


def _single_or_bulk(
    action: Action,
    order_id: str | None,
    reason: str,
    actor: str | None,
    status: str | None,
    event: uuid.UUID | None,
    yes: bool,
    as_json: bool,
) -> None:
    from boxoffice.orders.support import OrderFilter

    who = _actor(actor)
    if order_id is not None:
        if status or event:
            typer.echo("error: give an order id or --status/--event, not both", err=True)
            raise typer.Exit(2)
        call = getattr
        outcome = _run(lambda s: call(s, action)(order_id, who, reason))
        _report([outcome], as_json)
        return
    if not yes:
        typer.echo("error: a bulk action needs --yes (and --status or --event)", err=True)
        raise typer.Exit(2)
    where = OrderFilter(status=status, event_id=event, limit=1000)
    _report(_run(lambda s: s.bulk(action, where, who, reason)), as_json)


@orders_app.command("retry")
def retry(
    order_id: Annotated[str | None, typer.Argument()] = None,
    reason: ReasonOpt = "",
    actor: ActorOpt = None,
    status: StatusOpt = None,
    event: EventOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm a bulk retry.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Continue a stuck order from the step that failed (or every order a filter matches)."""
    _single_or_bulk("retry", order_id, reason, actor, status, event, yes, as_json)


@orders_app.command("cancel")
def cancel(
    order_id: Annotated[str | None, typer.Argument()] = None,
    reason: ReasonOpt = "",
    actor: ActorOpt = None,
    status: StatusOpt = None,
    event: EventOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm a bulk cancel.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Cancel an open order: seats back; when paid, refund and void its tickets."""
    _single_or_bulk("cancel", order_id, reason, actor, status, event, yes, as_json)


@orders_app.command("refund")
def refund(
    order_id: str, reason: ReasonOpt = "", actor: ActorOpt = None, as_json: JsonOpt = False
) -> None:
    """Refund a completed order before its event starts (tickets voided, seats back)."""
    _report([_run(lambda s: s.refund(order_id, _actor(actor), reason))], as_json)


@orders_app.command("resend")
def resend(
    order_id: str,
    to: Annotated[str | None, typer.Option("--to", help="Another address.")] = None,
    reason: Annotated[str, typer.Option("--reason")] = "",
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send the tickets email again (a new message with its own Message-ID)."""
    _report([_run(lambda s: s.resend(order_id, _actor(actor), reason, to))], as_json)


@orders_app.command("extend")
def extend(
    order_id: str,
    minutes: Annotated[int, typer.Option("--minutes", min=1, help="How much longer.")],
    reason: ReasonOpt = "",
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Lengthen a hold (a buyer on the phone), within MAX_HOLD_EXTENSION_MINUTES in all."""
    _report([_run(lambda s: s.extend(order_id, _actor(actor), minutes, reason))], as_json)
