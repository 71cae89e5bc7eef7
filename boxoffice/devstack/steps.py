"""The steps `start.py` takes to bring `make dev` up, each small: ports free, the file that tells
commands in another terminal where this stack is, the webhook secret kept across restarts,
`boxoffice temporal setup`, and waiting for the API to answer."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx

from boxoffice.core.command_settings import DEV_STACK_FILE
from boxoffice.core.secret_files import load_or_create_secret
from boxoffice.core.settings import Settings
from boxoffice.devstack.ports import port_is_free


class DevStackError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


def say(message: str) -> None:
    print(f"boxoffice dev: {message}", flush=True)


def external(settings: Settings, *fields: str) -> bool:
    """Whether any of these settings was given (environment or .env), not left at its default."""
    return any(name in settings.model_fields_set for name in fields)


def check_ports(wanted: dict[str, int]) -> None:
    taken = [f"{port} ({what})" for what, port in wanted.items() if not port_is_free(port)]
    if taken:
        raise DevStackError(
            "port(s) already in use: "
            + ", ".join(taken)
            + ". Is another `make dev` running? Stop it, or stop whatever holds the port"
            " (e.g. `ss -ltnp | grep :PORT`), or point the setting for that part at a running"
            " service instead (DATABASE_URL, TEMPORAL_ADDRESS, STRIPE_API_BASE, S3_ENDPOINT_URL,"
            " SMTP_URL)."
        )


#: What `boxoffice` commands in another terminal need to reach this stack.
ANNOUNCED = (
    "DATA_DIR",
    "DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_UI_URL",
    "STRIPE_API_BASE",
    "S3_ENDPOINT_URL",
    "SMTP_URL",
    "PUBLIC_BASE_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)


def announce(stack: contextlib.ExitStack, data_dir: Path, env: dict[str, str]) -> None:
    """Write where this stack's parts are for `boxoffice` commands run by hand (see
    `core.command_settings`), readable by this user only; removed on stop."""
    path = data_dir / DEV_STACK_FILE
    lines = [f"# pid {os.getpid()}"] + [f"{k}={env[k]}" for k in ANNOUNCED if k in env]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    stack.callback(path.unlink, missing_ok=True)


def webhook_secret(data_dir: Path) -> str:
    """Generated once and kept, so the API and the emulator agree across restarts."""
    path = data_dir / "stripe-webhook-secret"
    secret = load_or_create_secret(path, lambda: f"whsec_{secrets.token_hex(24)}\n".encode())
    return secret.decode().strip()


def temporal_setup(env: dict[str, str]) -> None:
    """`boxoffice temporal setup`, as every deploy runs it: the search attributes (the dev
    server has them already) and the daily reconciliation Schedule, created or updated. A
    Temporal that refuses it (not ours) is said, not fatal."""
    command = [sys.executable, "-m", "boxoffice.cli", "temporal", "setup", "--wait", "30"]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode != 0:
        say(f"`boxoffice temporal setup` failed: {lines[-1] if lines else done.returncode}")
    elif lines:
        say(lines[-1])


def wait_ready(url: str, children: dict[str, subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(trust_env=False, timeout=5) as client:
        while True:
            for name, proc in children.items():
                if proc.poll() is not None:
                    raise DevStackError(f"the {name} exited with code {proc.returncode}")
            try:
                response = client.get(url)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise DevStackError(f"{url} not ready within {timeout:.0f} s ({last})")
            time.sleep(0.5)
