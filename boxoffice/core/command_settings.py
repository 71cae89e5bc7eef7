"""Settings for a `boxoffice` command run by hand: the environment and `.env` first, then what
a running `make dev` wrote into its data directory, so `boxoffice orders list` in a second
terminal finds the embedded PostgreSQL and Temporal by itself. Apart from `settings.py`, which
every process reads, since only the commands look for a dev stack."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from boxoffice.core.settings import Settings

#: Where a running `make dev` says how to reach its parts (data_dir/DEV_STACK_FILE).
DEV_STACK_FILE = "dev-stack.env"


class MissingSetting(RuntimeError):
    """A setting this command needs has no value; the message names it and what to do."""


@lru_cache(maxsize=1)
def command_settings() -> Settings:
    """Settings for a `boxoffice` command run by hand: the environment and `.env` first, then
    what a running `make dev` wrote into its data directory (so `boxoffice orders list` in a
    second terminal finds the embedded PostgreSQL and Temporal by itself)."""
    base = Settings()
    running = base.data_dir / DEV_STACK_FILE
    if not _dev_stack_alive(running):
        return base
    return Settings(_env_file=(".env", running))


def _dev_stack_alive(path: Path) -> bool:
    """The file exists and the `make dev` that wrote it (its first line: `# pid N`) runs."""
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        pid = int(first.removeprefix("# pid "))
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True
