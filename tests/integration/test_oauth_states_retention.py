"""Issue 13: the retention job deletes expired OAuth states (used or not), keeps live ones."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import aiohttp
import asyncpg

from gateway.wechat import client as wx_client
from scheduler import credentials, maintenance, options
from tests import wx


async def test_retention_deletes_expired_states(pool: asyncpg.Pool) -> None:
    await wx.insert_account(pool, "acme")
    await pool.execute(
        "INSERT INTO oauth_states (account_id, state, target, scope, expires_at, consumed_at)"
        " SELECT 'acme', 's' || i, 'https://a.example/', 'snsapi_base',"
        "        now() + CASE WHEN i <= 3 THEN interval '-1 minute' ELSE interval '5 minutes' END,"
        "        CASE WHEN i % 2 = 0 THEN now() END"
        "   FROM generate_series(1, 5) AS i"
    )
    now = dt.datetime.now(dt.UTC)
    async with aiohttp.ClientSession() as session:
        client = wx_client.WeChatClient(session, "http://127.0.0.1:9")
        tokens = credentials.TokenCache(pool, client, lambda: now)
        upkeep = maintenance.Maintenance(
            pool, tokens, lambda: now, zoneinfo.ZoneInfo("Asia/Shanghai"), options.Options()
        )
        deleted = await upkeep.purge_old()
    assert deleted["oauth_states"] == 3
    left = await pool.fetch("SELECT state FROM oauth_states ORDER BY state")
    assert [r["state"] for r in left] == ["s4", "s5"]
