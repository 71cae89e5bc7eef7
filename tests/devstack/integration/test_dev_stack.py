"""`make dev` as a user runs it: the whole stack starts, serves a purchase and stops on Ctrl-C,
leaving no process behind; its demo event is seeded once, and its S3 bucket outlives a restart.
Each service on its own: `test_devstack_services.py`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import astuple
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg
import pytest

from boxoffice.core.settings import Settings
from boxoffice.core.temporal.encryption.keys import DEV_KEY_FILE
from boxoffice.devstack import services
from boxoffice.devstack.bucket_copy import restore_bucket, save_bucket
from boxoffice.devstack.demo import seed_demo_event
from boxoffice.devstack.ports import free_port, port_is_free
from boxoffice.devstack.run import DevPorts

from .process_checks import needs_proc, processes_mentioning, wait_gone

pytestmark = pytest.mark.integration


@needs_proc
def test_dev_stack_starts_serves_and_stops_on_sigint(tmp_path: Path) -> None:
    """`make dev` in miniature: free ports, a temporary data dir, no settings from outside."""
    ports = DevPorts(*(free_port() for _ in range(6)))
    data_dir = tmp_path / "data"
    script = (
        "import sys; from pathlib import Path;"
        " from boxoffice.devstack.run import DevPorts, run_dev_stack;"
        f" sys.exit(run_dev_stack(Path({str(data_dir)!r}), DevPorts{astuple(ports)!r}))"
    )
    setting_names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in setting_names}
    log_path = tmp_path / "dev.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while b"Boxoffice is running" not in log_path.read_bytes():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        banner = log_path.read_text()
        with httpx.Client(trust_env=False, timeout=10) as http:
            events = http.get(f"http://127.0.0.1:{ports.api}/events").json()
        demo = next(e for e in events if e["name"] == "Boxoffice Live — Demo Night")
        assert demo["id"] in banner
        assert f"http://localhost:{ports.api}/docs" in banner
        assert f"curl -s -X POST http://localhost:{ports.api}/orders" in banner
        assert (data_dir / "temporal.db").exists()
        assert (data_dir / "stripe-webhook-secret").read_text().strip() not in banner
        # Payloads are encrypted with a key generated into the data dir; the UI decodes them
        # through the API's codec endpoint, which lets the UI's origin in.
        assert (data_dir / DEV_KEY_FILE).stat().st_mode & 0o777 == 0o600
        ui_origin = f"http://localhost:{ports.temporal_ui}"
        with httpx.Client(trust_env=False, timeout=10) as http:
            ui_settings = http.get(f"http://127.0.0.1:{ports.temporal_ui}/api/v1/settings")
            preflight = http.options(
                f"http://127.0.0.1:{ports.api}/codec/decode",
                headers={"Origin": ui_origin, "Access-Control-Request-Method": "POST"},
            )
        assert ui_settings.json()["Codec"]["Endpoint"] == f"http://localhost:{ports.api}/codec"
        assert preflight.headers["access-control-allow-origin"] == ui_origin
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert wait_gone(set(processes_mentioning(str(tmp_path))), timeout=15) == set()
    assert all(port_is_free(port) for port in astuple(ports))


def test_demo_event_is_seeded_once(tmp_path: Path) -> None:
    from boxoffice.core.database.migrate import upgrade

    with services.postgres(tmp_path / "pg") as uri:
        upgrade(uri)
        first = seed_demo_event(uri)
        again = seed_demo_event(uri)
        assert again == first
        assert set(first.ticket_type_ids) == {"General admission", "VIP"}
        with psycopg.connect(uri) as conn:
            rows = conn.execute(
                "SELECT name, price, currency, capacity, available FROM ticket_types"
                " WHERE event_id = %s ORDER BY price",
                (first.event_id,),
            ).fetchall()
    assert rows == [
        ("General admission", 4500, "EUR", 200, 200),
        ("VIP", 12000, "EUR", 20, 20),
    ]


def test_bucket_is_saved_and_restored_across_moto_restarts(tmp_path: Path) -> None:
    saved = tmp_path / "s3"
    keys = {"orders/o1/tickets.pdf": b"%PDF-1", "orders/o2/tickets.pdf": b"%PDF-2"}

    def client(endpoint: str) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    with services.moto_s3() as endpoint:
        s3 = client(endpoint)
        s3.create_bucket(Bucket="kept")
        for key, body in keys.items():
            s3.put_object(Bucket="kept", Key=key, Body=body)
        s3.put_object(Bucket="kept", Key="../escape", Body=b"no")
        assert save_bucket(s3, "kept", saved) == 2
    assert not (tmp_path / "escape").exists()
    with services.moto_s3() as endpoint:
        s3 = client(endpoint)
        s3.create_bucket(Bucket="kept")
        assert restore_bucket(s3, "kept", saved) == 2
        for key, body in keys.items():
            assert s3.get_object(Bucket="kept", Key=key)["Body"].read() == body
