"""What our ASGI middlewares share: answering JSON themselves, and knowing whether the app has
begun its own answer (after which only closing the connection is left)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.types import Message, Send


async def send_json_error(send: Send, status: int, detail: str) -> None:
    """`{"detail": ...}` with `status`, as every error of the API reads."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class TrackedSend:
    """`send`, noting whether the answer has started."""

    send: Send
    started: bool = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)
