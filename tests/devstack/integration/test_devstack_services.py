"""Each embedded service starts on free ports in a temporary directory, answers, and leaves no
process behind. These are the starters `make dev` and the test fixtures share."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

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
from boxoffice.devstack import processes, services, stripe_emulator
from boxoffice.devstack.mail_catcher import eml_filename
from boxoffice.devstack.ports import free_port, port_answers, port_is_free

from .process_checks import alive, children, needs_proc, wait_gone

pytestmark = pytest.mark.integration


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
        assert pid is not None and alive(pid)
        with psycopg.connect(uri) as conn:
            row = conn.execute("SELECT 40 + 2").fetchone()
        assert row == (42,)
    assert wait_gone({pid}) == set()
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
        assert wait_gone({pid}) == set()
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
    before = children()
    with services.temporal(port, ui_port, db_file, namespace="boxoffice-test") as address:
        assert address == f"127.0.0.1:{port}"
        started = children() - before
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
    assert wait_gone(started) == set()
    assert not port_answers(port)
    assert db_file.exists()

    # A second start on the same file (a second `make dev`) registers the attributes again.
    with services.temporal(port, None, db_file, namespace="boxoffice-test") as address:
        client = await Client.connect(address, namespace="boxoffice-test")
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="boxoffice-test")
        )
        assert "OrderStatus" in listed.custom_attributes
    assert children() - before == set()


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
    before = children()
    with stripe_emulator.localstripe(free_port(), state_file=state_file) as base:
        started = children() - before
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
    assert wait_gone(started) == set()

    # The state file brings the PaymentIntent back after a restart.
    with stripe_emulator.localstripe(free_port(), state_file=state_file) as base:
        client = stripe.StripeClient("sk_test_devstack", base_addresses={"api": base})
        assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"

    # Without one, it starts empty.
    with stripe_emulator.localstripe(free_port()) as base:
        client = stripe.StripeClient("sk_test_devstack", base_addresses={"api": base})
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.payment_intents.retrieve(intent.id)
    assert children() - before == set()


# --------------------------------------------------------------------------- moto (S3)


@needs_proc
def test_moto_s3_stores_objects(tmp_path: Path) -> None:
    before = children()
    with services.moto_s3(free_port()) as endpoint:
        started = children() - before
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
    assert wait_gone(started) == set()


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
