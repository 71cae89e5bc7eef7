"""Each embedded service starts on free ports in a temporary directory, answers, and leaves no
process behind. These are the starters `make dev` and the test fixtures share."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import astuple
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import aiosmtplib
import boto3
import httpx
import psycopg
import pytest
import stripe
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from boxoffice.cli import register_search_attributes
from boxoffice.core.settings import Settings
from boxoffice.core.temporal.encryption.keys import DEV_KEY_FILE
from boxoffice.devstack import processes, services, stripe_emulator
from boxoffice.devstack.bucket_copy import restore_bucket, save_bucket
from boxoffice.devstack.demo import seed_demo_event
from boxoffice.devstack.mail_catcher import eml_filename
from boxoffice.devstack.ports import free_port, port_answers, port_is_free
from boxoffice.devstack.run import DevPorts

pytestmark = pytest.mark.integration


# --------------------------------------------------------------------------- process helpers


def _proc_state(pid: int) -> str | None:
    """The process's state letter from /proc, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _alive(pid: int) -> bool:
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def _children() -> set[int]:
    """Live child processes of this test process."""
    me = str(os.getpid())
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[1] == me and fields[0] not in ("Z", "X"):
            found.add(int(entry.name))
    return found


def _wait_gone(pids: set[int], timeout: float = 5.0) -> set[int]:
    deadline = time.monotonic() + timeout
    left = {p for p in pids if _alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {p for p in left if _alive(p)}
    return left


needs_proc = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")


# --------------------------------------------------------------------------- ports


def test_free_port_is_bindable_and_taken_port_is_not() -> None:
    port = free_port()
    assert port_is_free(port)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not port_is_free(port)
        assert port_answers(port)
    assert port_is_free(port)


# --------------------------------------------------------------------------- PostgreSQL


def test_postgres_answers_and_is_deleted(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    with services.postgres(data_dir, keep=False) as uri:
        pid = services.postgres_pid(data_dir)
        assert pid is not None and _alive(pid)
        with psycopg.connect(uri) as conn:
            row = conn.execute("SELECT 40 + 2").fetchone()
        assert row == (42,)
    assert _wait_gone({pid}) == set()
    assert not data_dir.exists()


def test_postgres_keep_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    with services.postgres(data_dir, keep=True) as uri, psycopg.connect(uri) as conn:
        conn.execute("CREATE TABLE kept (v int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    pid = services.postgres_pid(data_dir)
    assert pid is None  # stopped: postmaster.pid is gone
    try:
        with services.postgres(data_dir, keep=True) as uri:
            pid = services.postgres_pid(data_dir)
            with psycopg.connect(uri) as conn:
                assert conn.execute("SELECT v FROM kept").fetchall() == [(7,)]
        assert pid is not None
        assert _wait_gone({pid}) == set()
        assert data_dir.exists()
    finally:
        # Deleting through the starter stops cleanly even if an assertion above failed.
        with services.postgres(data_dir, keep=False):
            pass


# --------------------------------------------------------------------------- Temporal


@needs_proc
async def test_temporal_registers_search_attributes_and_stops(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    db_file = tmp_path / "temporal.db"
    before = _children()
    with services.temporal(port, ui_port, db_file, namespace="boxoffice-test") as address:
        assert address == f"127.0.0.1:{port}"
        started = _children() - before
        assert len(started) == 1
        client = await Client.connect(address, namespace="boxoffice-test")
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="boxoffice-test")
        )
        assert (
            listed.custom_attributes["OrderStatus"] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        )
        assert listed.custom_attributes["EventId"] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        assert (
            listed.custom_attributes["NeedsAttentionSince"]
            == IndexedValueType.INDEXED_VALUE_TYPE_DATETIME
        )
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await http.get(f"http://127.0.0.1:{ui_port}/")).status_code == 200

        # `boxoffice temporal setup` adds what is missing, once, and refuses a type clash.
        probe = {"BoxofficeProbe": "Keyword"}
        ns = "boxoffice-test"
        assert await register_search_attributes(address, ns, probe) == ["BoxofficeProbe"]
        assert await register_search_attributes(address, ns, probe) == []
        assert await register_search_attributes(address, ns) == []
        with pytest.raises(RuntimeError, match="OrderStatus"):
            await register_search_attributes(address, ns, {"OrderStatus": "Datetime"})
    assert _wait_gone(started) == set()
    assert not port_answers(port)
    assert db_file.exists()

    # A second start on the same file (a second `make dev`) registers the attributes again.
    with services.temporal(port, None, db_file, namespace="boxoffice-test") as address:
        client = await Client.connect(address, namespace="boxoffice-test")
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="boxoffice-test")
        )
        assert "OrderStatus" in listed.custom_attributes
    assert _children() - before == set()


def test_temporal_refuses_a_taken_port() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(processes.ServiceError, match=str(port)), services.temporal(port):
            pass


# --------------------------------------------------------------------------- localstripe


class _WebhookReceiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).received.append((body, self.headers.get("Stripe-Signature", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    received: list[tuple[bytes, str]] = []
    handler = type("Receiver", (_WebhookReceiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe", received
    finally:
        server.shutdown()
        server.server_close()


@needs_proc
def test_localstripe_pays_sends_webhooks_and_keeps_state(
    tmp_path: Path, webhook_receiver: tuple[str, list[tuple[bytes, str]]]
) -> None:
    webhook_url, received = webhook_receiver
    secret = "whsec_test_devstack"
    state_file = tmp_path / "localstripe.pickle"
    before = _children()
    with stripe_emulator.localstripe(free_port(), state_file=state_file) as base:
        started = _children() - before
        stripe_emulator.register_localstripe_webhook(base, webhook_url, secret)
        client = stripe.StripeClient("sk_test_devstack", base_addresses={"api": base})
        intent = client.v1.payment_intents.create(
            params={
                "amount": 4500,
                "currency": "eur",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
        assert intent.status == "succeeded"
        deadline = time.monotonic() + 15
        while not any(b"payment_intent.succeeded" in body for body, _ in received):
            assert time.monotonic() < deadline, "no payment_intent.succeeded webhook"
            time.sleep(0.1)
        body, signature = next((b, s) for b, s in received if b"payment_intent.succeeded" in b)
        event = stripe.Webhook.construct_event(body.decode(), signature, secret)
        assert event["data"]["object"]["id"] == intent.id
    assert _wait_gone(started) == set()

    # The state file brings the PaymentIntent back after a restart.
    with stripe_emulator.localstripe(free_port(), state_file=state_file) as base:
        client = stripe.StripeClient("sk_test_devstack", base_addresses={"api": base})
        assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"

    # Without one, it starts empty.
    with stripe_emulator.localstripe(free_port()) as base:
        client = stripe.StripeClient("sk_test_devstack", base_addresses={"api": base})
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.payment_intents.retrieve(intent.id)
    assert _children() - before == set()


# --------------------------------------------------------------------------- moto (S3)


@needs_proc
def test_moto_s3_stores_objects(tmp_path: Path) -> None:
    before = _children()
    with services.moto_s3(free_port()) as endpoint:
        started = _children() - before
        assert len(started) == 1
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="devstack-test")
        s3.put_object(Bucket="devstack-test", Key="orders/o1/tickets.pdf", Body=b"%PDF-1.4")
        got = s3.get_object(Bucket="devstack-test", Key="orders/o1/tickets.pdf")
        assert got["Body"].read() == b"%PDF-1.4"
    assert _wait_gone(started) == set()


# --------------------------------------------------------------------------- SMTP catcher


def test_eml_filename_is_safe_and_sortable() -> None:
    from datetime import UTC, datetime

    name = eml_filename(datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "<a/b c@x.example>")
    assert name == "20300102T030405.000006Z-a_b_c@x.example.eml"
    assert eml_filename(datetime(2030, 1, 2, tzinfo=UTC), None).endswith("-no-message-id.eml")


async def test_mail_catcher_keeps_and_writes_messages(tmp_path: Path) -> None:
    mail_dir = tmp_path / "mail"
    port = free_port()
    with services.mail_catcher(port, mail_dir) as catcher:
        assert catcher.url == f"smtp://127.0.0.1:{port}"
        for n in range(2):
            message = EmailMessage()
            message["From"] = "tickets@boxoffice.localhost"
            message["To"] = "buyer@example.com"
            message["Subject"] = f"Your tickets {n}"
            message["Message-ID"] = f"<order-1.tickets.{n}@boxoffice.localhost>"
            message.set_content("See attached.")
            message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf")
            await aiosmtplib.send(message, hostname="127.0.0.1", port=port)
        caught = catcher.wait_for(2, timeout=10)
        assert [m.subject for m in caught] == ["Your tickets 0", "Your tickets 1"]
        assert caught[0].rcpt_tos == ("buyer@example.com",)
        assert {m.message_id for m in caught} == {
            "<order-1.tickets.0@boxoffice.localhost>",
            "<order-1.tickets.1@boxoffice.localhost>",
        }
        files = sorted(mail_dir.glob("*.eml"))
        assert [f.name.split("-", 1)[1] for f in files] == [
            "order-1.tickets.0@boxoffice.localhost.eml",
            "order-1.tickets.1@boxoffice.localhost.eml",
        ]
        assert files[0].read_bytes() == caught[0].data
        assert caught[0].path == files[0]
    assert not port_answers(port)


# --------------------------------------------------------------------------- the dev stack


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


def _processes_mentioning(text: str) -> list[int]:
    """Processes whose command line or environment mentions `text` (a temporary directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


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
    assert _wait_gone(set(_processes_mentioning(str(tmp_path))), timeout=15) == set()
    assert all(port_is_free(port) for port in astuple(ports))
