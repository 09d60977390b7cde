"""A load generator's and an endpoint's share of HTTP/1.1, on bare asyncio protocols, for the
latency benchmark: in production WeChat and the business's endpoint run on other machines,
here they share the two cores with what is measured, and aiohttp's client and server cost
the harness about as much CPU per callback as the gateway's whole callback path.

Only what the two sides of that benchmark exchange is understood: requests and responses
with a Content-Length body, kept alive. Anything else (chunked bodies, a closed connection
mid-response) raises, so the benchmark fails rather than measuring something else.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import cast

HEAD_END = b"\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class ProtocolError(Exception):
    pass


def _content_length(head: bytes) -> int:
    """The Content-Length of a message head (its first line and headers); 0 if none."""
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            raise ProtocolError(f"unsupported transfer-encoding: {value.strip()!r}")
    return length


class _Messages:
    """Splits a byte stream into (head, body) messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        self._buffer += data
        messages: list[tuple[bytes, bytes]] = []
        while True:
            end = self._buffer.find(HEAD_END)
            if end < 0:
                return messages
            head = bytes(self._buffer[:end])
            length = _content_length(head)
            total = end + len(HEAD_END) + length
            if len(self._buffer) < total:
                return messages
            messages.append((head, bytes(self._buffer[end + len(HEAD_END) : total])))
            del self._buffer[:total]


class _ServerConnection(asyncio.Protocol):
    def __init__(self, on_body: Callable[[bytes], None]) -> None:
        self._on_body = on_body
        self._messages = _Messages()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        for _, body in self._messages.feed(data):
            self._on_body(body)
            self._transport.write(OK)


async def serve(host: str, port: int, on_body: Callable[[bytes], None]) -> asyncio.Server:
    """An endpoint answering 200 "ok" to every request; `on_body` sees each request's body."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _ServerConnection(on_body), host, port)


class _ClientConnection(asyncio.Protocol):
    def __init__(self) -> None:
        self._messages = _Messages()
        self.transport: asyncio.Transport | None = None
        self.waiting: asyncio.Future[int] | None = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        for head, _ in self._messages.feed(data):
            status = int(head.split(b" ", 2)[1])
            if self.waiting is None or self.waiting.done():
                raise ProtocolError("a response without a request")
            self.waiting.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(ProtocolError(f"connection lost: {exc}"))
        if not self.lost.done():
            self.lost.set_result(None)


class Client:
    """POSTs to one host:port over kept-alive connections, one request at a time on each."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._idle: collections.deque[_ClientConnection] = collections.deque()
        self._all: list[_ClientConnection] = []

    @staticmethod
    def request(host: str, target: str, body: bytes, content_type: str) -> bytes:
        """The bytes of one POST (built before a run, so sending costs a write)."""
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def send(self, request: bytes) -> int:
        """Send a request built by `request`; returns the response's status."""
        loop = asyncio.get_running_loop()
        if self._idle:
            conn = self._idle.pop()
        else:
            _, conn = await loop.create_connection(_ClientConnection, self._host, self._port)
            self._all.append(conn)
        assert conn.transport is not None
        conn.waiting = loop.create_future()
        conn.transport.write(request)
        status = await conn.waiting
        conn.waiting = None
        self._idle.append(conn)
        return status

    async def close(self) -> None:
        for conn in self._all:
            if conn.transport is not None:
                conn.transport.close()
        for conn in self._all:
            await conn.lost
