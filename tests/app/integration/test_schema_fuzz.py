"""schemathesis against our OpenAPI schema, as each kind of caller: no server errors, answers
that match the schema, only documented status codes.

Bounded here (a few examples per operation) so `make test` stays quick; `make fuzz` sets
BOXOFFICE_FUZZ_EXAMPLES higher for a long run. It runs as schemathesis's own command, beside
the test loop that runs the workers, so orders it manages to create are served meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import Stack

ROLES = {
    "anonymous": None,
    "buyer": (),
    "gate": ("gate",),
    "support": ("support",),
    "admin": ("admin",),
}


@pytest.mark.parametrize("role", sorted(ROLES))
async def test_schemathesis_finds_nothing(stack: Stack, role: str, tmp_path: Path) -> None:
    examples = os.environ.get("BOXOFFICE_FUZZ_EXAMPLES", "3")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{stack.api_url}/openapi.json",
        "--max-examples",
        examples,
        "--phases",
        "examples,fuzzing",
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--seed",
        os.environ.get("BOXOFFICE_FUZZ_SEED", "20261123"),
        "--report-dir",
        str(tmp_path),
        # Its credential is a signature over the exact body, which no generator can make;
        # tests/auth/integration/test_security.py covers it.
        "--exclude-path",
        "/webhooks/stripe",
    ]
    roles = ROLES[role]
    if roles is not None:
        token = stack.token(f"fuzz-{role}", *roles)
        command += ["--header", f"Authorization: Bearer {token}"]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={
            **os.environ,
            "NO_COLOR": "1",
            "SCHEMATHESIS_HOOKS": "tests.app.integration.schemathesis_hooks",
            "PYTHONPATH": str(Path(__file__).parents[3]),
        },
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=1200)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    assert "No issues found" in text or " passed" in text, text[-2000:]
