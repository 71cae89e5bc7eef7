"""The `boxoffice` command: the dev stack, workers, and setup of a real database and Temporal.

Heavy modules are imported inside each command, so `boxoffice --help` stays fast and commands
that need only runtime dependencies work in the production image.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer

from boxoffice.core.command_settings import command_settings
from boxoffice.core.settings import Settings
from boxoffice.core.temporal.search_attributes import REGISTRATION

# events/cli.py's commands with ticket types and add-ons (cli_catalogue.py) and cancel,
# cancellation and postpone (lifecycle/cli.py) added: importing a module registers its commands.
from boxoffice.events import cli_catalogue  # noqa: F401
from boxoffice.events.lifecycle.cli import events_app
from boxoffice.gate.cli import gate
from boxoffice.orders.cli import orders_app
from boxoffice.orders.reconciliation.cli import reconcile_app

if TYPE_CHECKING:
    from boxoffice.core.temporal.client import Security

app = typer.Typer(
    help="Boxoffice: a ticket-selling backend where each purchase is a Temporal workflow.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets (keys, URLs with passwords)
)
db_app = typer.Typer(help="The application database.", no_args_is_help=True)
temporal_app = typer.Typer(help="The Temporal cluster.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(temporal_app, name="temporal")
app.add_typer(orders_app, name="orders")
app.add_typer(events_app, name="events")
app.add_typer(reconcile_app, name="reconcile")
app.command("gate")(gate)

ALL_QUEUES = "purchases,payments,fulfilment"


@app.command()
def dev() -> None:
    """Run the whole system locally on embedded services (what `make dev` runs)."""
    from boxoffice.devstack.run import run_dev_stack

    code = run_dev_stack()
    raise typer.Exit(code)


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated task queues to serve.")] = ALL_QUEUES,
    processes: Annotated[int, typer.Option(min=1, help="Worker processes (one core each).")] = 1,
    register_build: Annotated[
        bool,
        typer.Option(help="Register WORKER_BUILD_ID with Temporal's worker deployment and exit."),
    ] = False,
) -> None:
    """Run worker processes for the chosen task queues until SIGTERM or Ctrl-C.

    With WORKER_DEPLOYMENT_NAME and WORKER_BUILD_ID set, the workers poll as that version and
    start only if the build was registered (README: "Deploying new workflow code")."""
    from boxoffice.core.comma_list import comma_list
    from boxoffice.worker import run_workers

    chosen = comma_list(queues)
    if not chosen:
        raise typer.BadParameter("name at least one queue", param_hint="--queues")
    run_workers(chosen, processes, register=register_build)


@app.command()
def token(
    role: Annotated[
        list[str] | None,
        typer.Option("--role", help="admin, support or gate (repeatable); none: a buyer."),
    ] = None,
    sub: Annotated[str, typer.Option(help="The token's subject (who it is).")] = "dev-user",
    hours: Annotated[float, typer.Option(min=0.01, max=24 * 30, help="Lifetime.")] = 12,
) -> None:
    """Mint a bearer token signed with this deployment's HS256 secret (AUTH_MODE=hs256)."""
    from boxoffice.auth.principal import STAFF_ROLES
    from boxoffice.auth.tokens import mint_token

    settings = command_settings()
    if settings.auth_mode != "hs256":
        typer.echo("AUTH_MODE is oidc: get tokens from your identity provider.", err=True)
        raise typer.Exit(2)
    roles = role or []
    unknown = sorted(set(roles) - set(STAFF_ROLES))
    if unknown:
        raise typer.BadParameter(f"unknown role(s) {unknown}; choose from {STAFF_ROLES}")
    typer.echo(mint_token(settings, sub, roles, ttl_seconds=int(hours * 3600)))


@db_app.command("upgrade")
def db_upgrade(
    wait: Annotated[
        float, typer.Option(help="Seconds to keep retrying while the database is unreachable.")
    ] = 0,
) -> None:
    """Apply the Alembic migrations to DATABASE_URL (safe to run at every deploy)."""
    from sqlalchemy.exc import OperationalError

    from boxoffice.core.database.migrate import upgrade

    settings = command_settings()
    if not settings.database_url:
        typer.echo("DATABASE_URL is not set.", err=True)
        raise typer.Exit(2)
    deadline = time.monotonic() + wait
    while True:
        try:
            upgrade(settings.database_url)
            break
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                typer.echo(f"database unreachable: {exc.orig or exc}", err=True)
                raise typer.Exit(1) from None
            time.sleep(1)
    typer.echo("database schema is up to date")


async def register_search_attributes(
    address: str,
    namespace: str,
    attributes: Mapping[str, str] = REGISTRATION,
    *,
    wait_seconds: float = 0,
    security: Security | None = None,
) -> list[str]:
    """Register the custom search attributes (name -> Temporal type) on a namespace; returns the
    ones it added. Idempotent: existing ones are skipped, a concurrent add is fine, and a name
    registered with another type is an error. Retries for `wait_seconds` while the server or the
    namespace is not there yet (a fresh Temporal container creates `default` after it starts).
    `security`: TLS and API key (`core/temporal/client.py`), none by default."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.client import Client
    from temporalio.service import RPCError, RPCStatusCode

    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            client = await Client.connect(
                address,
                namespace=namespace,
                tls=security.tls if security else False,
                api_key=security.api_key if security else None,
            )
            listed = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=namespace)
            )
            break
        except (RPCError, RuntimeError) as exc:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"Temporal at {address} ({namespace}): {exc}") from exc
            await asyncio.sleep(1)

    wanted = {
        name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
        for name, kind in attributes.items()
    }
    existing = dict(listed.custom_attributes)
    clashes = [
        f"{name} is {IndexedValueType.Name(existing[name])}, wanted {IndexedValueType.Name(kind)}"
        for name, kind in wanted.items()
        if name in existing and existing[name] != kind
    ]
    if clashes:
        raise RuntimeError("search attribute type mismatch: " + "; ".join(clashes))
    missing = {name: kind for name, kind in wanted.items() if name not in existing}
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.ALREADY_EXISTS:
                raise
    return sorted(missing)


@temporal_app.command("setup")
def temporal_setup(
    wait: Annotated[
        float, typer.Option(help="Seconds to keep retrying while Temporal is not ready.")
    ] = 0,
    reconcile_schedule: Annotated[
        bool,
        typer.Option(help="Create or update the daily reconciliation Schedule as well."),
    ] = True,
    reconcile_hour: Annotated[
        int, typer.Option(min=0, max=23, help="UTC hour of the daily reconciliation.")
    ] = 3,
    reconcile_fix: Annotated[
        bool,
        typer.Option(
            "--reconcile-fix/--reconcile-report-only",
            help="Whether the daily reconciliation refunds stray payments it finds.",
        ),
    ] = True,
) -> None:
    """Register the search attributes (OrderStatus, EventId, NeedsAttentionSince...) on
    TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (before deploying code that sets them), and create or
    update the daily reconciliation Schedule (`boxoffice reconcile schedule`). Idempotent: run
    it at every deploy (the Helm chart's setup Job and docker-compose's `migrate` do)."""
    from boxoffice.core.temporal.client import connection_security

    settings = command_settings()
    where = f"{settings.temporal_address} ({settings.temporal_namespace})"
    try:
        added = asyncio.run(
            register_search_attributes(
                settings.temporal_address,
                settings.temporal_namespace,
                wait_seconds=wait,
                security=connection_security(settings),
            )
        )
    except RuntimeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if added:
        typer.echo(f"registered search attributes {', '.join(added)} on {where}")
    else:
        typer.echo(f"search attributes already registered on {where}")
    if reconcile_schedule:
        from boxoffice.orders.reconciliation.schedule import SCHEDULE_ID

        done = asyncio.run(ensure_reconciliation_schedule(settings, reconcile_hour, reconcile_fix))
        mode = "refunding stray payments" if reconcile_fix else "reporting only"
        when = f"daily at {reconcile_hour:02d}:00 UTC"
        typer.echo(f"schedule {SCHEDULE_ID} {done}: {when}, {mode}, on {where}")


async def ensure_reconciliation_schedule(settings: Settings, hour: int, fix: bool) -> str:
    """The daily reconciliation Schedule created, or updated in place (never a second one);
    `created` or `updated`. Through `connect()`: the schedule's input is encrypted with the
    payload keys the workers decrypt it with."""
    from boxoffice.core.temporal.client import connect
    from boxoffice.orders.reconciliation.schedule import ensure_schedule

    return await ensure_schedule(await connect(settings), settings, hour, fix)


if __name__ == "__main__":
    app()
