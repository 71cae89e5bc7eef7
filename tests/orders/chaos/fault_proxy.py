"""A TCP fault proxy on loopback: what a flaky network does to a service, on demand.

It sits between our code and one service (localstripe, moto S3, the SMTP catcher) and, per
mode, passes bytes through, delays them, refuses connections (the port stops listening, so a
connect fails at once as with a service that is down), cuts each connection once the service
has begun to answer (the request took effect but the answer is lost), or answers every request
itself with an HTTP 500. It runs its own event loop on a thread, so a test that blocks (a
subprocess call, a sleep) never stalls the traffic it is proxying."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

from boxoffice.devstack.ports import free_port

_CHUNK = 65536
_HTTP_500 = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
    b"Content-Length: 58\r\nConnection: close\r\n\r\n"
    b'{"error": {"type": "api_error", "message": "chaos: 500"}}\n'
)


class Fault(enum.Enum):
    PASS = "pass"
    DELAY = "delay"
    REFUSE = "refuse"
    CUT = "cut"
    HTTP_500 = "http_500"


class FaultProxy:
    """Forwards 127.0.0.1:`port` to `upstream_host`:`upstream_port` with the current fault."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.fault = Fault.PASS
        self.delay_seconds = 0.0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        self._call(self._close_all(stop_listening=True))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def set(self, fault: Fault, delay_seconds: float = 0.0) -> None:
        """Switch the fault. Open connections are closed on any change, so a client's kept-alive
        connection does not carry on under the old behaviour."""
        self._call(self._switch(fault, delay_seconds))

    @contextlib.contextmanager
    def fault_for_block(self, fault: Fault, delay_seconds: float = 0.0) -> Iterator[None]:
        self.set(fault, delay_seconds)
        try:
            yield
        finally:
            self.set(Fault.PASS)

    # --- on the proxy's loop --------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.port, reuse_address=True
            )

    async def _switch(self, fault: Fault, delay_seconds: float) -> None:
        self.fault = fault
        self.delay_seconds = delay_seconds
        await self._close_all(stop_listening=fault is Fault.REFUSE)
        if fault is not Fault.REFUSE:
            await self._listen()

    async def _close_all(self, *, stop_listening: bool) -> None:
        if stop_listening and self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.add(client_w)
        fault = self.fault
        try:
            if fault is Fault.HTTP_500:
                await client_r.read(_CHUNK)
                client_w.write(_HTTP_500)
                await client_w.drain()
                return
            try:
                upstream_r, upstream_w = await asyncio.open_connection(*self.upstream)
            except OSError:
                return
            self._open.add(upstream_w)
            try:
                await asyncio.gather(
                    self._pump(client_r, upstream_w, fault, towards_service=True),
                    self._pump(upstream_r, client_w, fault, towards_service=False),
                )
            finally:
                upstream_w.transport.abort()
                self._open.discard(upstream_w)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            client_w.transport.abort()
            self._open.discard(client_w)

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        fault: Fault,
        *,
        towards_service: bool,
    ) -> None:
        try:
            while data := await reader.read(_CHUNK):
                if fault is Fault.DELAY and towards_service:
                    await asyncio.sleep(self.delay_seconds)
                if fault is Fault.CUT and not towards_service:
                    # The service acted and began to answer: the answer never arrives.
                    writer.transport.abort()
                    return
                writer.write(data)
                await writer.drain()
        except (OSError, RuntimeError):
            pass
        finally:
            if not writer.transport.is_closing():
                with contextlib.suppress(OSError, RuntimeError):
                    writer.write_eof()
