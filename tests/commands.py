"""Running `boxoffice` commands against the integration stack, as staff would. A plugin of
the root conftest, so `cli_env` is a fixture everywhere."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner, Result

from boxoffice.cli import app
from boxoffice.core.command_settings import command_settings

if TYPE_CHECKING:
    from tests.conftest import Stack


@pytest.fixture
def cli_env(stack: Stack) -> Iterator[dict[str, str]]:
    """The environment `boxoffice` commands read their settings from, as staff would set it."""
    env = {
        "DATABASE_URL": stack.settings.database_url or "",
        "TEMPORAL_ADDRESS": stack.settings.temporal_address,
        # Where the stack's generated payload encryption key is: commands read and write
        # workflow payloads with the same key as the API and the workers.
        "DATA_DIR": str(stack.settings.data_dir),
        "BOXOFFICE_ACTOR": "grace@support",
    }
    command_settings.cache_clear()
    yield env
    command_settings.cache_clear()


async def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    """Run the CLI as a person would (its own event loop, so on a thread of its own)."""

    def invoke() -> Result:
        command_settings.cache_clear()
        return CliRunner().invoke(app, list(args), env=env, input=stdin)

    return await asyncio.to_thread(invoke)


def own_output(result: Result) -> str:
    """What the command itself printed: the in-process API's and workers' log lines (a JSON
    object a line, with a timestamp and a logger) share this process's stdout; left out."""
    return "".join(
        line
        for line in result.stdout.splitlines(keepends=True)
        if not (line.startswith('{"timestamp": ') and '"logger": ' in line)
    )


def json_output(result: Result) -> Any:
    """The JSON document a `--json` command printed."""
    return json.loads(own_output(result))
