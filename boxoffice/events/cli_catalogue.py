"""`boxoffice events add-type | update-type | add-addon | update-addon`: an event's ticket types
and add-ons, on the same services and schemas as the admin API (`POST /events/{id}/ticket-types`,
`PATCH .../ticket-types/{id}`, and the same for add-ons). Registered on `events/cli.py`'s
`events_app`; its exit codes are that module's."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from boxoffice.core.cli_runner import Parts
from boxoffice.events.cli import (
    ActorOpt,
    ClearOpt,
    JsonOpt,
    TimeOpt,
    body,
    events_app,
    in_sessions,
    print_event,
    who,
)


@events_app.command("add-type")
def add_type(
    event_id: uuid.UUID,
    name: Annotated[str, typer.Option()],
    price: Annotated[int, typer.Option(min=0, help="Minor units (cents).")],
    currency: Annotated[str, typer.Option()],
    capacity: Annotated[int, typer.Option(min=1)],
    on_sale_from: TimeOpt = None,
    on_sale_until: TimeOpt = None,
    hidden: Annotated[bool, typer.Option("--hidden")] = False,
    who_acts: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a ticket type (POST /events/{id}/ticket-types)."""
    from boxoffice.events.editing import EventEditing
    from boxoffice.events.schemas import TicketTypeCreate

    new = body(
        TicketTypeCreate,
        {
            "name": name,
            "price": price,
            "currency": currency,
            "capacity": capacity,
            "on_sale_from": on_sale_from,
            "on_sale_until": on_sale_until,
            "hidden": hidden,
        },
    )

    async def work(parts: Parts) -> Any:
        return await EventEditing(parts.sessions).add_type(event_id, new, who(who_acts))

    print_event(in_sessions(work), as_json)


@events_app.command("update-type")
def update_type(
    event_id: uuid.UUID,
    type_id: uuid.UUID,
    name: Annotated[str | None, typer.Option()] = None,
    price: Annotated[int | None, typer.Option(min=0, help="New orders only.")] = None,
    capacity: Annotated[int | None, typer.Option(min=0)] = None,
    on_sale_from: TimeOpt = None,
    on_sale_until: TimeOpt = None,
    hidden: Annotated[bool | None, typer.Option("--hidden/--listed")] = None,
    clear: ClearOpt = None,
    who_acts: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a ticket type: price, capacity, sales window, hidden.

    A new price applies to new orders only; capacity never goes below what is sold and held."""
    from boxoffice.events.editing import EventEditing
    from boxoffice.events.schemas import TicketTypeUpdate

    patch = body(
        TicketTypeUpdate,
        {
            "name": name,
            "price": price,
            "capacity": capacity,
            "on_sale_from": on_sale_from,
            "on_sale_until": on_sale_until,
            "hidden": hidden,
        },
        clear,
    )

    async def work(parts: Parts) -> Any:
        editing = EventEditing(parts.sessions)
        return await editing.update_type(event_id, type_id, patch, who(who_acts))

    print_event(in_sessions(work), as_json)


@events_app.command("add-addon")
def add_addon(
    event_id: uuid.UUID,
    name: Annotated[str, typer.Option()],
    price: Annotated[int, typer.Option(min=0, help="Minor units (cents).")],
    currency: Annotated[str, typer.Option()],
    stock: Annotated[int, typer.Option(min=1)],
    max_per_order: Annotated[int, typer.Option(min=1)] = 10,
    description: Annotated[str | None, typer.Option()] = None,
    who_acts: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a product sold with the tickets (POST /events/{id}/addons)."""
    from boxoffice.events.addons import AddonEditing
    from boxoffice.events.schemas import AddonCreate

    new = body(
        AddonCreate,
        {
            "name": name,
            "price": price,
            "currency": currency,
            "stock": stock,
            "max_per_order": max_per_order,
            "description": description,
        },
    )

    async def work(parts: Parts) -> Any:
        return await AddonEditing(parts.sessions).add(event_id, new, who(who_acts))

    print_event(in_sessions(work), as_json)


@events_app.command("update-addon")
def update_addon(
    event_id: uuid.UUID,
    addon_id: uuid.UUID,
    name: Annotated[str | None, typer.Option()] = None,
    price: Annotated[int | None, typer.Option(min=0, help="New orders only.")] = None,
    stock: Annotated[int | None, typer.Option(min=0)] = None,
    max_per_order: Annotated[int | None, typer.Option(min=1)] = None,
    hidden: Annotated[bool | None, typer.Option("--hidden/--listed")] = None,
    who_acts: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an add-on: price (new orders only), stock (never below sold and held)."""
    from boxoffice.events.addons import AddonEditing
    from boxoffice.events.schemas import AddonUpdate

    patch = body(
        AddonUpdate,
        {
            "name": name,
            "price": price,
            "stock": stock,
            "max_per_order": max_per_order,
            "hidden": hidden,
        },
    )

    async def work(parts: Parts) -> Any:
        editing = AddonEditing(parts.sessions)
        return await editing.update(event_id, addon_id, patch, who(who_acts))

    print_event(in_sessions(work), as_json)
