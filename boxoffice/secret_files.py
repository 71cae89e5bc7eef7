"""Secrets generated once into a file (dev keys under `.data/`): created atomically, mode 0600."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, generate: Callable[[], bytes]) -> bytes:
    """The bytes in `path`; if it is missing, `generate()` written there first (mode 0600).

    Creation is atomic (a complete temporary file hard-linked into place), so processes starting
    together (the API and the workers) all end up with the first one's secret."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file readable by its owner only.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(generate())
            # If another process won the race, its secret is the one to use.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_bytes()
