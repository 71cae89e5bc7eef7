"""Sending mail over SMTP, for every domain (tickets, event notices, account links), and the
two rules every message from user input follows: header text on one line, addresses masked
in logs."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from opentelemetry.trace import SpanKind, Status, StatusCode

from boxoffice.core.observability.tracing import tracer

SMTP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool = False


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://[user:pass@]host[:port][?starttls=true]`, or `smtps://` for implicit TLS."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP URL must start with smtp:// or smtps://, not {parts.scheme!r}")
    implicit_tls = parts.scheme == "smtps"
    flag = parse_qs(parts.query).get("starttls", ["false"])[-1].lower()
    start_tls = flag in ("1", "true", "yes")
    if implicit_tls and start_tls:
        raise ValueError("smtps:// already uses TLS; starttls applies to smtp:// only")
    return SmtpServer(
        hostname=parts.hostname or "localhost",
        port=parts.port or (465 if implicit_tls else 587 if start_tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=implicit_tls,
        start_tls=start_tls,
    )


async def send_email(smtp_url: str, message: EmailMessage) -> None:
    """Send one message; envelope sender and recipients come from its headers."""
    server = parse_smtp_url(smtp_url)
    # aiosmtplib has no instrumentation: this span is the mail's place in a purchase's trace.
    # No exception text on it: a refused recipient's error quotes the address.
    with tracer(__name__).start_as_current_span(
        "smtp send",
        kind=SpanKind.CLIENT,
        attributes={"server.address": server.hostname, "server.port": server.port},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            await aiosmtplib.send(
                message,
                hostname=server.hostname,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.use_tls,
                start_tls=server.start_tls,
                timeout=SMTP_TIMEOUT_SECONDS,
            )
        except Exception as error:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


def mask_email(address: str) -> str:
    """`j***@example.com`: enough to tell buyers apart in logs, not enough to write to them."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}"


def one_line(text: str) -> str:
    """Header text from user input: line breaks would be refused (or worse, injected)."""
    return " ".join(text.split())
