"""Issue 14: every route that reads a body has a read deadline. A client that promises a body
and trickles it is answered 408 and disconnected, on the internal API, the pay notify URL
and the event pages, as on the callback URL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
import pydantic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from tests import wx
from tests.api.conftest import API_TOKEN

Client = TestClient[web.Request, web.Application]
DEADLINE = 0.5


@pytest.fixture
async def client(
    db_url: str, pool: asyncpg.Pool, aiohttp_client: Callable[..., Awaitable[Client]]
) -> Client:
    await wx.insert_account(pool, "acme")
    await pool.execute(
        "INSERT INTO events (account_id, name, starts_at, ends_at, capacity, welcome_text,"
        " qr_scene, qr_ticket, qr_url, qr_expires_at)"
        " VALUES ('acme', 'Fair', now() - interval '2 hours', now() - interval '1 hour', 10,"
        " 'hi', 'event_1', 'T', 'https://qr.example/T', now() + interval '1 day')"
    )
    settings = settings_mod.Settings(
        database_url=db_url,
        api_token=pydantic.SecretStr(API_TOKEN),
        public_url="http://gateway.test",
        body_read_timeout=DEADLINE,
    )
    return await aiohttp_client(app_mod.create_app(settings))


async def slow_post(
    client: Client, path: str, content_type: str, method: str = "POST"
) -> tuple[bytes, float, float]:
    """Headers promising 4000 bytes, 10 of them, then nothing. Returns the status line, when it
    came and when the server closed the connection (seconds from the start)."""
    assert client.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    started = time.monotonic()
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_TOKEN}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: 4000\r\n\r\n0123456789".encode()
    )
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        answered = time.monotonic() - started
        try:
            while await asyncio.wait_for(reader.read(65536), 5):
                pass
        except ConnectionResetError:
            pass
        closed = time.monotonic() - started
    finally:
        writer.close()
    return head.split(b"\r\n", 1)[0], answered, closed


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", "/api/v1/accounts", "application/json"),
        ("PATCH", "/api/v1/accounts/acme", "application/json"),
        ("POST", "/wechat/acme/pay/notify", "application/json"),
        ("POST", "/events/acme/1/survey", "application/x-www-form-urlencoded"),
    ],
)
async def test_a_trickling_body_is_408_and_disconnected(
    client: Client, method: str, path: str, content_type: str
) -> None:
    status, answered, closed = await slow_post(client, path, content_type, method)
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert DEADLINE <= answered < DEADLINE + 2
    assert closed - answered < 1.0  # not left to linger


async def test_the_api_answers_its_error_shape(client: Client) -> None:
    assert client.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(
        f"POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_TOKEN}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode()
    )
    try:
        answer = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    assert b'"code": "request_timeout"' in answer


async def test_a_whole_body_is_not_timed(client: Client, pool: asyncpg.Pool) -> None:
    resp = await client.patch(
        "/api/v1/accounts/acme",
        json={"rule_profile": "wechat-2023"},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert resp.status == 200
