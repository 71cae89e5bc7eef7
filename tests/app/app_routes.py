"""Every route an app serves, in included routers too. Recent FastAPI versions keep an included
router as one entry that knows its routes' full paths; older ones flatten them into routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI


def route_entries(app: FastAPI) -> Iterator[Any]:
    """Each route (or effective route context) with its `path` and `methods`."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        yield from (contexts() if contexts is not None else [route])
