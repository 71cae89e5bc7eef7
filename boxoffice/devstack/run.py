"""`make dev` / `boxoffice dev`: the whole system on one machine, on embedded defaults.

Data lives under the settings' data_dir (`.data/`), so a second start finds the first one's
orders: PostgreSQL in `postgres/`, Temporal in `temporal.db`, mail in `mail/`, the Stripe
emulator's objects in `localstripe.pickle`, ticket PDFs in `s3/` (moto keeps S3 in memory only, so
the bucket is copied there on stop and back on start), the webhook secret in
`stripe-webhook-secret`. Service logs go to `logs/`; the API's and the worker's to the terminal.

Any setting that points at a real service (DATABASE_URL, TEMPORAL_ADDRESS, STRIPE_API_KEY or
STRIPE_API_BASE, S3_ENDPOINT_URL, SMTP_URL; from the environment or `.env`) replaces its
embedded part.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from boxoffice.core.command_settings import DEV_STACK_FILE
from boxoffice.core.secret_files import load_or_create_secret
from boxoffice.core.settings import Settings
from boxoffice.devstack import processes, services, stripe_emulator
from boxoffice.devstack.banner import banner
from boxoffice.devstack.bucket_copy import restore_bucket, save_bucket
from boxoffice.devstack.demo import seed_demo_event
from boxoffice.devstack.ports import port_is_free

if TYPE_CHECKING:
    pass

#: Local test-mode credentials for moto (it accepts any); never real ones.
MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class DevPorts:
    """Fixed so the printed URLs and curl lines stay the same from one start to the next."""

    api: int = 8000
    temporal: int = 7233
    temporal_ui: int = 8233
    localstripe: int = 8420
    moto: int = 5055
    smtp: int = 1025


DEV_PORTS = DevPorts()


class DevStackError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


def _say(message: str) -> None:
    print(f"boxoffice dev: {message}", flush=True)


def _external(settings: Settings, *fields: str) -> bool:
    """Whether any of these settings was given (environment or .env), not left at its default."""
    return any(name in settings.model_fields_set for name in fields)


def _check_ports(wanted: dict[str, int]) -> None:
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
_ANNOUNCED = (
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


def _announce(stack: contextlib.ExitStack, data_dir: Path, env: dict[str, str]) -> None:
    """Write where this stack's parts are for `boxoffice` commands run by hand (see
    `core.command_settings`), readable by this user only; removed on stop."""
    path = data_dir / DEV_STACK_FILE
    lines = [f"# pid {os.getpid()}"] + [f"{k}={env[k]}" for k in _ANNOUNCED if k in env]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    stack.callback(path.unlink, missing_ok=True)


def _webhook_secret(data_dir: Path) -> str:
    """Generated once and kept, so the API and the emulator agree across restarts."""
    path = data_dir / "stripe-webhook-secret"
    secret = load_or_create_secret(path, lambda: f"whsec_{secrets.token_hex(24)}\n".encode())
    return secret.decode().strip()


# --------------------------------------------------------------------------- signals


#: Ctrl-C, `kill`, and closing the terminal all stop the stack the same way.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _signals_stop_the_stack() -> Iterator[None]:
    """Each stop signal raises KeyboardInterrupt, so every one unwinds the same way."""
    previous = {
        signum: signal.signal(signum, signal.default_int_handler) for signum in _STOP_SIGNALS
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _keep_stopping(_signum: int, _frame: Any) -> None:
    """While stopping, another Ctrl-C must not abandon children half-stopped."""
    _say("still stopping (each part gets up to 10 s before it is killed)...")


# --------------------------------------------------------------------------- the stack


def _temporal_setup(env: dict[str, str]) -> None:
    """`boxoffice temporal setup`, as every deploy runs it: the search attributes (the dev
    server has them already) and the daily reconciliation Schedule, created or updated. A
    Temporal that refuses it (not ours) is said, not fatal."""
    command = [sys.executable, "-m", "boxoffice.cli", "temporal", "setup", "--wait", "30"]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode != 0:
        _say(f"`boxoffice temporal setup` failed: {lines[-1] if lines else done.returncode}")
    elif lines:
        _say(lines[-1])


def _wait_ready(url: str, children: dict[str, subprocess.Popen[bytes]], timeout: float) -> None:
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


def _start(stack: contextlib.ExitStack, data_dir: Path, ports: DevPorts) -> None:
    settings = Settings(data_dir=data_dir)
    data_dir = settings.data_dir
    logs = data_dir / "logs"

    own_postgres = not _external(settings, "database_url")
    own_temporal = not _external(settings, "temporal_address")
    own_stripe = not _external(settings, "stripe_api_key", "stripe_api_base")
    own_s3 = not _external(settings, "s3_endpoint_url")
    own_smtp = not _external(settings, "smtp_url")

    wanted = {"API": ports.api}
    if own_temporal:
        wanted |= {"Temporal": ports.temporal, "Temporal UI": ports.temporal_ui}
    if own_stripe:
        wanted["localstripe"] = ports.localstripe
    if own_s3:
        wanted["moto S3"] = ports.moto
    if own_smtp:
        wanted["SMTP catcher"] = ports.smtp
    _check_ports(wanted)
    data_dir.mkdir(parents=True, exist_ok=True)

    env = dict(os.environ)
    env["DATA_DIR"] = str(data_dir)
    env["PUBLIC_BASE_URL"] = env.get("PUBLIC_BASE_URL", f"http://localhost:{ports.api}")

    # PostgreSQL, then the schema: everything else reads it.
    if own_postgres:
        _say("starting PostgreSQL (embedded)")
        database_url = stack.enter_context(services.postgres(data_dir / "postgres", keep=True))
    else:
        assert settings.database_url is not None
        database_url = settings.database_url
        _say("using the PostgreSQL at DATABASE_URL")
    env["DATABASE_URL"] = database_url
    from boxoffice.core.database.migrate import upgrade

    upgrade(database_url)

    # Temporal.
    temporal_ui_url = settings.temporal_ui_url
    if own_temporal:
        _say("starting the Temporal dev server")
        address = stack.enter_context(
            services.temporal(
                ports.temporal,
                ports.temporal_ui,
                data_dir / "temporal.db",
                namespace=settings.temporal_namespace,
                log_file=logs / "temporal.log",
                # The UI shows buyers' encrypted data through the API's codec endpoint.
                ui_codec_endpoint=f"http://localhost:{ports.api}/codec",
            )
        )
        env["TEMPORAL_ADDRESS"] = address
        temporal_ui_url = f"http://localhost:{ports.temporal_ui}"
        # The codec endpoint's CORS lets this UI's origin in; the dev UI sends no token, so
        # the endpoint is open here (loopback only).
        env["TEMPORAL_UI_URL"] = temporal_ui_url
        env["CODEC_ALLOW_ANONYMOUS"] = "true"
    else:
        _say(f"using the Temporal at {settings.temporal_address} (run `boxoffice temporal setup`)")

    # Stripe.
    webhook_url = f"http://127.0.0.1:{ports.api}/webhooks/stripe"
    if own_stripe:
        _say("starting localstripe (Stripe emulator)")
        stripe_base = stack.enter_context(
            stripe_emulator.localstripe(
                ports.localstripe,
                state_file=data_dir / "localstripe.pickle",
                log_file=logs / "localstripe.log",
            )
        )
        secret = _webhook_secret(data_dir)
        stripe_emulator.register_localstripe_webhook(stripe_base, webhook_url, secret)
        env["STRIPE_API_BASE"] = stripe_base
        env["STRIPE_WEBHOOK_SECRET"] = secret
    elif settings.stripe_api_key is None and settings.stripe_api_base:
        # An emulator already running elsewhere: point its webhooks at this API if it lets us.
        secret = (
            settings.stripe_webhook_secret.get_secret_value()
            if settings.stripe_webhook_secret
            else _webhook_secret(data_dir)
        )
        env["STRIPE_WEBHOOK_SECRET"] = secret
        try:
            stripe_emulator.register_localstripe_webhook(
                settings.stripe_api_base, webhook_url, secret
            )
        except httpx.HTTPError as exc:
            _say(f"could not register the webhook on {settings.stripe_api_base}: {exc}")
    else:
        _say(
            "using Stripe with STRIPE_API_KEY; forward its webhooks with "
            f"`stripe listen --forward-to {webhook_url}` and set STRIPE_WEBHOOK_SECRET"
        )

    # S3.
    from boxoffice.core.s3 import ensure_bucket, make_s3_client

    if own_s3:
        _say("starting moto (S3)")
        endpoint = stack.enter_context(services.moto_s3(ports.moto, log_file=logs / "moto.log"))
        env["S3_ENDPOINT_URL"] = endpoint
        env.update(MOTO_CREDENTIALS)
        config = make_s3_client(settings.model_copy(update={"s3_endpoint_url": endpoint})).meta
        # moto's credentials for this process's client too, without touching os.environ.
        import boto3

        s3 = boto3.Session(
            aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        ).client("s3", endpoint_url=endpoint, config=config.config)
    else:
        s3 = make_s3_client(settings)
    ensure_bucket(s3, settings.s3_bucket)
    if own_s3:
        saved = data_dir / "s3"
        restored = restore_bucket(s3, settings.s3_bucket, saved)
        if restored:
            _say(f"restored {restored} S3 object(s) from {saved}")

        def save() -> None:
            count = save_bucket(s3, settings.s3_bucket, saved)
            _say(f"saved {count} S3 object(s) to {saved}")

        stack.callback(save)

    # SMTP.
    mail_dir: Path | None = None
    if own_smtp:
        mail_dir = data_dir / "mail"
        catcher = stack.enter_context(services.mail_catcher(ports.smtp, mail_dir))
        env["SMTP_URL"] = catcher.url
        _say(f"catching mail in {mail_dir}")

    _announce(stack, data_dir, env)
    demo = seed_demo_event(database_url)

    # The API and one worker pool.
    _say(f"starting the API on :{ports.api} and a worker")
    api, _ = stack.enter_context(
        processes.managed_process(
            [
                sys.executable,
                *("-m", "uvicorn", "boxoffice.app:create_app", "--factory"),
                *("--host", "127.0.0.1", "--port", str(ports.api)),
                # No proxy in front here: uvicorn would otherwise believe X-Forwarded-For from
                # any local client, which the per-client limits must not.
                "--no-proxy-headers",
            ],
            name="API",
            env=env,
            inherit_output=True,
        )
    )
    worker, _ = stack.enter_context(
        processes.managed_process(
            [sys.executable, "-m", "boxoffice.worker"],
            name="worker",
            env=env,
            inherit_output=True,
        )
    )
    children = {"API": api, "worker": worker}
    _wait_ready(f"http://127.0.0.1:{ports.api}/readyz", children, timeout=120)
    _temporal_setup(env)
    shown = settings.model_copy(update={"temporal_ui_url": temporal_ui_url})
    print(banner(ports, shown, demo, mail_dir, data_dir), flush=True)

    while True:
        for name, proc in children.items():
            if proc.poll() is not None:
                raise DevStackError(f"the {name} exited with code {proc.returncode}")
        time.sleep(0.5)


def run_dev_stack(data_dir: Path | None = None, ports: DevPorts = DEV_PORTS) -> int:
    """Start everything, wait for Ctrl-C or SIGTERM, stop everything in reverse order.

    Returns the exit code: 0 after a requested stop, 1 when something failed.
    """
    stack = contextlib.ExitStack()
    code = 0
    with _signals_stop_the_stack():
        try:
            _start(stack, data_dir or Settings().data_dir, ports)
        except KeyboardInterrupt:
            print(flush=True)
            _say("stopping")
        except (DevStackError, processes.ServiceError) as exc:
            _say(f"error: {exc}")
            code = 1
        finally:
            for signum in _STOP_SIGNALS:
                signal.signal(signum, _keep_stopping)
            try:
                stack.close()
            except Exception as exc:
                _say(f"error while stopping: {type(exc).__name__}: {exc}")
                code = 1
    if code == 0:
        _say("stopped")
    return code
