"""The callback path with its database stopped: 503 within WeChat's budget, nothing
acknowledged that is not stored, and `success` again once the database is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pydantic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.store import embedded, migrate
from tests import pg, wx

pytestmark = pg.OWN_SERVER  # see tests/pg.py

Client = TestClient[web.Request, web.Application]
NOW = int(time.time())


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[embedded.EmbeddedPostgres, str]]:
    """A Postgres of this test's own, so it can be stopped without disturbing the others."""
    db = embedded.EmbeddedPostgres(tmp_path)
    url = await asyncio.to_thread(db.start)
    await migrate.migrate_url(url, pg.SQL_DIR)
    conn = await asyncpg.connect(url)
    await wx.insert_account(conn, "acme")
    await conn.close()
    yield db, url
    await asyncio.to_thread(db.stop)


@pytest.fixture
async def client(
    server: tuple[embedded.EmbeddedPostgres, str], aiohttp_client: Callable[..., Awaitable[Client]]
) -> Client:
    settings = settings_mod.Settings(
        database_url=server[1], api_token=pydantic.SecretStr("t"), callback_db_timeout=2.0
    )
    return await aiohttp_client(app_mod.create_app(settings))


async def post(client: Client, n: int) -> tuple[int, float]:
    query, body = wx.callback(wx.text(f"m{n}", create_time=NOW, msg_id=1000 + n))
    started = time.monotonic()
    resp = await client.post("/wechat/acme", params=query, data=body)
    await resp.read()
    return resp.status, time.monotonic() - started


@pytest.mark.slow
async def test_database_stopped_then_back(
    client: Client, server: tuple[embedded.EmbeddedPostgres, str]
) -> None:
    db, url = server
    assert (await post(client, 1))[0] == 200  # warm: the account is cached
    await asyncio.to_thread(db.stop)
    outage = await asyncio.gather(*(post(client, n) for n in range(2, 12)))
    assert {status for status, _ in outage} == {503}
    assert max(elapsed for _, elapsed in outage) < 5.0
    await asyncio.to_thread(db.start)
    deadline = time.monotonic() + 5.0
    status = 0
    while time.monotonic() < deadline:
        status, _ = await post(client, 2)  # WeChat's retry of a refused callback
        if status == 200:
            break
        await asyncio.sleep(0.2)
    assert status == 200, "callbacks did not recover within 5 s of the database's return"
    conn = await asyncpg.connect(url)
    try:
        stored = {r["msg_id"] for r in await conn.fetch("SELECT msg_id FROM inbound_events")}
    finally:
        await conn.close()
    assert stored == {"1001", "1002"}  # the acknowledged ones, and nothing refused
