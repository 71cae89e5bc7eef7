"""Every dependency of every route is a coroutine: FastAPI runs a plain `def` dependency in
its thread pool, and that hop cost a sold-out refusal more than the rest of its work
(`make bench`, scenario 3). A new `def` dependency fails here, not in a benchmark later."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant

from boxoffice.app import create_app
from boxoffice.core.settings import Settings
from tests.app.app_routes import route_entries


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _is_async(call: Any) -> bool:
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004
    )


def test_every_route_dependency_is_async() -> None:
    app = create_app(Settings(_env_file=None))
    checked: set[str] = set()
    blocking: set[str] = set()
    for entry in route_entries(app):
        dependant = getattr(entry, "dependant", None)
        if dependant is None:  # the docs' own routes
            continue
        for call in _calls(dependant):
            name = getattr(call, "__qualname__", type(call).__qualname__)
            checked.add(name)
            if not _is_async(call):
                blocking.add(f"{getattr(call, '__module__', '?')}.{name}")
    assert not blocking, f"plain `def` dependencies (run in a thread pool): {sorted(blocking)}"
    # The walk reached the dependencies it is meant to check.
    assert {"get_session", "get_app_settings", "optional_principal"} <= checked, checked
