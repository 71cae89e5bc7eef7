"""Secrets generated on first use into the data directory (dev defaults), created atomically so
processes starting together end up with the same secret."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def load_or_create_secret(path: Path, generate: Callable[[], bytes]) -> bytes:
    """The bytes in `path`, created (mode 0600) from `generate()` if missing.

    A complete temporary file is hard-linked into place, so a reader never sees a half-written
    secret, and if another process won the race, its secret is the one everybody uses."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file readable by its owner only.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(generate())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_bytes()
