"""An event's add-ons (parking, merchandise, a drink voucher): adding one and changing it.
Like a ticket type's capacity, stock goes up at any time and down only to what is sold and held,
by one conditional UPDATE (`repository.restock`), so a cut cannot race the buyers reserving.
Every change is written to the audit log with who made it and what changed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from boxoffice.core.errors import ErrorKind
from boxoffice.events import repository
from boxoffice.events.domain import EventError
from boxoffice.events.editing import (
    apply_changes,
    locked_event,
    refuse_if_final,
    refuse_taken_addon_name,
)
from boxoffice.events.schemas import AddonCreate, AddonUpdate, EventAdmin
from boxoffice.events.service import check_addons, organiser_view


class AddonEditing:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, event_id: uuid.UUID, body: AddonCreate, actor: str) -> EventAdmin:
        async with self._sessions() as session, session.begin():
            event = await locked_event(session, event_id)
            refuse_if_final(event)
            types = await repository.types_of(session, [event.id], hidden=True)
            check_addons([body], {tt.currency for tt in types})
            await refuse_taken_addon_name(session, event.id, body.name)
            added = repository.add_addon(session, event.id, **body.model_dump())
            await session.flush()
            repository.audit(
                session, event.id, actor, "addon.create", {str(added.id): [None, body.name]}
            )
            return await organiser_view(session, event)

    async def update(
        self, event_id: uuid.UUID, addon_id: uuid.UUID, patch: AddonUpdate, actor: str
    ) -> EventAdmin:
        sent = patch.model_dump(exclude_unset=True)
        async with self._sessions() as session, session.begin():
            event = await locked_event(session, event_id)
            refuse_if_final(event)
            addon = await repository.addon(session, event.id, addon_id)
            if addon is None:
                raise EventError(ErrorKind.NOT_FOUND, f"No add-on {addon_id} in event {event_id}.")
            if "name" in sent and sent["name"] != addon.name:
                await refuse_taken_addon_name(session, event.id, sent["name"])
            changes: dict[str, Any] = {}
            stock = sent.pop("stock", None)
            if stock is not None and stock != addon.stock:
                before = addon.stock
                if not await repository.restock(session, addon.id, stock):
                    taken = addon.stock - addon.available
                    raise EventError(
                        ErrorKind.REFUSED,
                        f"{addon.name}: {taken} are sold or held, so its stock cannot go below "
                        f"{taken} ({stock} asked).",
                    )
                await session.refresh(addon)
                changes["stock"] = [before, stock]
            changes |= apply_changes(addon, sent)
            if changes:
                repository.audit(
                    session, event.id, actor, "addon.update", {"addon": str(addon.id)} | changes
                )
            return await organiser_view(session, event)
