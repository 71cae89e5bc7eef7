"""Starting `make dev`'s parts (`run.py` runs and stops them): each embedded service unless a
setting points at a real one, the API and a worker on fixed ports, the demo event, the banner."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from boxoffice.core.settings import Settings
from boxoffice.devstack import processes, services, stripe_emulator
from boxoffice.devstack.banner import banner
from boxoffice.devstack.bucket_copy import restore_bucket, save_bucket
from boxoffice.devstack.demo import seed_demo_event
from boxoffice.devstack.steps import (
    DevStackError,
    announce,
    check_ports,
    external,
    say,
    temporal_setup,
    wait_ready,
    webhook_secret,
)

__all__ = ["DEV_PORTS", "DevPorts", "DevStackError", "say", "start_stack"]

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


def start_stack(stack: contextlib.ExitStack, data_dir: Path, ports: DevPorts) -> None:
    settings = Settings(data_dir=data_dir)
    data_dir = settings.data_dir
    logs = data_dir / "logs"

    own_postgres = not external(settings, "database_url")
    own_temporal = not external(settings, "temporal_address")
    own_stripe = not external(settings, "stripe_api_key", "stripe_api_base")
    own_s3 = not external(settings, "s3_endpoint_url")
    own_smtp = not external(settings, "smtp_url")

    wanted = {"API": ports.api}
    if own_temporal:
        wanted |= {"Temporal": ports.temporal, "Temporal UI": ports.temporal_ui}
    if own_stripe:
        wanted["localstripe"] = ports.localstripe
    if own_s3:
        wanted["moto S3"] = ports.moto
    if own_smtp:
        wanted["SMTP catcher"] = ports.smtp
    check_ports(wanted)
    data_dir.mkdir(parents=True, exist_ok=True)

    env = dict(os.environ)
    env["DATA_DIR"] = str(data_dir)
    env["PUBLIC_BASE_URL"] = env.get("PUBLIC_BASE_URL", f"http://localhost:{ports.api}")

    # PostgreSQL, then the schema: everything else reads it.
    if own_postgres:
        say("starting PostgreSQL (embedded)")
        database_url = stack.enter_context(services.postgres(data_dir / "postgres", keep=True))
    else:
        assert settings.database_url is not None
        database_url = settings.database_url
        say("using the PostgreSQL at DATABASE_URL")
    env["DATABASE_URL"] = database_url
    from boxoffice.core.database.migrate import upgrade

    upgrade(database_url)

    # Temporal.
    temporal_ui_url = settings.temporal_ui_url
    if own_temporal:
        say("starting the Temporal dev server")
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
        say(f"using the Temporal at {settings.temporal_address} (run `boxoffice temporal setup`)")

    # Stripe.
    webhook_url = f"http://127.0.0.1:{ports.api}/webhooks/stripe"
    if own_stripe:
        say("starting localstripe (Stripe emulator)")
        stripe_base = stack.enter_context(
            stripe_emulator.localstripe(
                ports.localstripe,
                state_file=data_dir / "localstripe.pickle",
                log_file=logs / "localstripe.log",
            )
        )
        secret = webhook_secret(data_dir)
        stripe_emulator.register_localstripe_webhook(stripe_base, webhook_url, secret)
        env["STRIPE_API_BASE"] = stripe_base
        env["STRIPE_WEBHOOK_SECRET"] = secret
    elif settings.stripe_api_key is None and settings.stripe_api_base:
        # An emulator already running elsewhere: point its webhooks at this API if it lets us.
        secret = (
            settings.stripe_webhook_secret.get_secret_value()
            if settings.stripe_webhook_secret
            else webhook_secret(data_dir)
        )
        env["STRIPE_WEBHOOK_SECRET"] = secret
        try:
            stripe_emulator.register_localstripe_webhook(
                settings.stripe_api_base, webhook_url, secret
            )
        except httpx.HTTPError as exc:
            say(f"could not register the webhook on {settings.stripe_api_base}: {exc}")
    else:
        say(
            "using Stripe with STRIPE_API_KEY; forward its webhooks with "
            f"`stripe listen --forward-to {webhook_url}` and set STRIPE_WEBHOOK_SECRET"
        )

    # S3.
    from boxoffice.core.s3 import ensure_bucket, make_s3_client

    if own_s3:
        say("starting moto (S3)")
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
            say(f"restored {restored} S3 object(s) from {saved}")

        def save() -> None:
            count = save_bucket(s3, settings.s3_bucket, saved)
            say(f"saved {count} S3 object(s) to {saved}")

        stack.callback(save)

    # SMTP.
    mail_dir: Path | None = None
    if own_smtp:
        mail_dir = data_dir / "mail"
        catcher = stack.enter_context(services.mail_catcher(ports.smtp, mail_dir))
        env["SMTP_URL"] = catcher.url
        say(f"catching mail in {mail_dir}")

    announce(stack, data_dir, env)
    demo = seed_demo_event(database_url)

    # The API and one worker pool.
    say(f"starting the API on :{ports.api} and a worker")
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
    wait_ready(f"http://127.0.0.1:{ports.api}/readyz", children, timeout=120)
    temporal_setup(env)
    shown = settings.model_copy(update={"temporal_ui_url": temporal_ui_url})
    print(banner(ports, shown, demo, mail_dir, data_dir), flush=True)

    while True:
        for name, proc in children.items():
            if proc.poll() is not None:
                raise DevStackError(f"the {name} exited with code {proc.returncode}")
        time.sleep(0.5)
