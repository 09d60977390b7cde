"""The latency benchmark's bare HTTP/1.1 (bench/raw_http.py) against aiohttp, the two sides
it stands in for: messages split at any byte, kept-alive connections, and what it does not
understand refused rather than misread."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bench import common, raw_http

MESSAGES = (
    b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
    b"POST /b HTTP/1.1\r\ncontent-length: 0\r\n\r\n"
    b"POST /c HTTP/1.1\r\nCONTENT-LENGTH: 5\r\n\r\nhello"
)


@pytest.mark.parametrize("step", [1, 2, 7, len(MESSAGES)])
def test_messages_are_split_wherever_the_bytes_break(step: int) -> None:
    messages = raw_http._Messages()
    found = []
    for i in range(0, len(MESSAGES), step):
        found.extend(messages.feed(MESSAGES[i : i + step]))
    assert [(head.split(b" ")[1], body) for head, body in found] == [
        (b"/a", b"abc"),
        (b"/b", b""),
        (b"/c", b"hello"),
    ]


def test_a_chunked_body_is_refused() -> None:
    with pytest.raises(raw_http.ProtocolError, match="transfer-encoding"):
        raw_http._Messages().feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")


async def test_the_client_posts_to_an_aiohttp_server_over_one_kept_alive_connection(
    aiohttp_server: Any,
) -> None:
    seen: list[tuple[str, bytes, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((request.path_qs, await request.read(), request.headers["Content-Type"]))
        return web.Response(status=201 if len(seen) == 2 else 200, text="x" * len(seen))

    app = web.Application()
    app.router.add_post("/wechat/a", handle)
    server = await aiohttp_server(app)
    client = raw_http.Client("127.0.0.1", server.port)
    try:
        statuses = [
            await client.send(
                raw_http.Client.request("127.0.0.1", f"/wechat/a?n={n}", b"<xml/>", "text/xml")
            )
            for n in range(3)
        ]
    finally:
        await client.close()
    assert statuses == [200, 201, 200]
    assert seen == [(f"/wechat/a?n={n}", b"<xml/>", "text/xml") for n in range(3)]
    assert len(client._all) == 1


async def test_the_endpoint_answers_an_aiohttp_client_and_sees_each_body() -> None:
    bodies: list[bytes] = []
    port = common.free_port()
    server = await raw_http.serve("127.0.0.1", port, bodies.append)
    try:
        async with aiohttp.ClientSession() as session:
            for n in range(3):
                async with session.post(f"http://127.0.0.1:{port}/hook", data=b"b%d" % n) as r:
                    assert (r.status, await r.text()) == (200, "ok")
    finally:
        server.close()
        await server.wait_closed()
    assert bodies == [b"b0", b"b1", b"b2"]
