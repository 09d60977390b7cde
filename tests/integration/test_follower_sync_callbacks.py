"""A follower sync while followers subscribe and unsubscribe through real callbacks: a
callback applied after the sync started beats the (older) list the sync is writing."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg

from gateway.store import syncs
from gateway.wechat import client as wx
from scheduler import credentials
from scheduler import syncs as sync_job
from tests.integration import flows

APP_ID = "wxcallbacksync0001"
PREFIX = "oC"


def seeded(index: int) -> str:
    return PREFIX + str(index).zfill(26)


class CallbacksDuringPages(wx.WeChatClient):
    """After the platform answered the profiles of the third page (and before the sync
    commits them), followers act on the platform, which calls the gateway back; one more
    subscribes after the last page was read."""

    def __init__(self, inner: wx.WeChatClient, stack: flows.Stack) -> None:
        super().__init__(inner.session, inner.api_base)
        self.stack = stack
        self.acted = False

    async def batchget_users(self, token: str, openids: list[str]) -> list[dict[str, Any]]:
        answer = await super().batchget_users(token, openids)
        if seeded(20_000) in openids and not self.acted:
            self.acted = True
            await self.stack.act(APP_ID, seeded(20_000), "unsubscribe")  # listed as subscribed
            await self.stack.act(APP_ID, seeded(5), "unsubscribe")  # page 1, already written
        return answer

    async def list_tags(self, token: str) -> list[dict[str, Any]]:
        # the last page has been read: this follower is in no page of this sync
        await self.stack.act(APP_ID, "onewcomer", "subscribe")
        return await super().list_tags(token)


async def test_callbacks_win_over_the_sync_where_newer(db_url: str, pool: asyncpg.Pool) -> None:
    async with flows.stack(db_url, pool) as stack:
        await stack.account("acc", "service", APP_ID)
        status, _ = await stack.mock_json(
            "POST", f"/_mock/accounts/{APP_ID}/followers/seed", {"count": 25_000, "prefix": PREFIX}
        )
        assert status == 201
        # known before the sync, by a callback: re-subscribes during it, so it is not listed
        await stack.act(APP_ID, "oreturning", "subscribe")
        await stack.act(APP_ID, "oreturning", "unsubscribe")
        started = await syncs.start(pool, "acc")
        client = CallbacksDuringPages(stack.worker.client, stack)
        tokens = credentials.TokenCache(pool, client, lambda: dt.datetime.now(dt.UTC))
        sync = sync_job.FollowerSync(
            pool, client, tokens, "w1", lease=dt.timedelta(seconds=30), stopping=asyncio.Event()
        )
        assert await sync.drain(timeout=60) == 1
        assert client.acted

        done = await syncs.get(pool, "acc", started.id)
        assert done.status == "completed" and done.followers_seen == 25_000
        rows = {
            r["openid"]: r
            for r in await pool.fetch(
                "SELECT openid, subscribed, unsubscribed_at FROM followers WHERE openid = ANY($1)",
                [seeded(20_000), seeded(5), "onewcomer", "oreturning"],
            )
        }
        assert not rows[seeded(20_000)]["subscribed"]  # the callback, not the older list
        assert not rows[seeded(5)]["subscribed"]
        assert rows["onewcomer"]["subscribed"]  # not listed, but subscribed since the start
        assert not rows["oreturning"]["subscribed"]
        subscribed = await pool.fetchval("SELECT count(*) FROM followers WHERE subscribed")
        assert subscribed == 25_000 - 2 + 1
