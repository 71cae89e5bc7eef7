"""An SMTP catcher: accepts every message, writes it to a folder as an .eml file and keeps it.

In dev the folder (`.data/mail/`) is where you open the ticket emails; in tests the in-memory list
lets a test count messages (and distinct Message-IDs) without reading files.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]+")


@dataclass(frozen=True)
class CaughtMessage:
    """One delivered message, as the SMTP envelope and the parsed content."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    path: Path
    received_at: datetime
    message: EmailMessage = field(repr=False)

    @property
    def message_id(self) -> str | None:
        value = self.message.get("Message-ID")
        return str(value).strip() if value is not None else None

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))


def eml_filename(received_at: datetime, message_id: str | None) -> str:
    """`<UTC timestamp>-<sanitised message-id>.eml`: sorts by arrival, and a duplicate delivery
    of one message shows up as two files with the same Message-ID part."""
    stamp = received_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    name = _UNSAFE.sub("_", message_id.strip().strip("<>")).strip("._")[:150] if message_id else ""
    return f"{stamp}-{name or 'no-message-id'}.eml"


class MailCatcherHandler:
    """aiosmtpd handler. Runs on the controller's thread; readers on other threads use the lock."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = Path(mail_dir)
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self._messages: list[CaughtMessage] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        received_at = datetime.now(UTC)
        path = self._write(received_at, message.get("Message-ID"), data)
        caught = CaughtMessage(
            mail_from=str(envelope.mail_from or ""),
            rcpt_tos=tuple(str(r) for r in envelope.rcpt_tos),
            data=data,
            path=path,
            received_at=received_at,
            message=message,
        )
        with self._changed:
            self._messages.append(caught)
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def _write(self, received_at: datetime, message_id: Any, data: bytes) -> Path:
        """Write through a temporary name, so anyone watching the folder never sees half a file."""
        base = eml_filename(received_at, str(message_id) if message_id is not None else None)
        path = self.mail_dir / base
        n = 1
        while path.exists():
            n += 1
            path = self.mail_dir / base.replace(".eml", f"-{n}.eml")
        tmp = self.mail_dir / f".{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(data)
        tmp.replace(path)
        return path

    @property
    def messages(self) -> list[CaughtMessage]:
        """A snapshot of every message caught so far, oldest first."""
        with self._changed:
            return list(self._messages)

    def clear(self) -> None:
        """Forget the in-memory messages (the files stay)."""
        with self._changed:
            self._messages.clear()

    def wait_for(self, count: int = 1, timeout: float = 30.0) -> list[CaughtMessage]:
        """Block until at least `count` messages arrived; TimeoutError otherwise.

        Blocking: from async code call it through `asyncio.to_thread`.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self._messages)} message(s) caught, expected {count}"
                        f" within {timeout:.0f} s"
                    )
                self._changed.wait(left)
            return list(self._messages)
