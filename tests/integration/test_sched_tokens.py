"""Access tokens: one fetch for many concurrent sends across two workers, and one refresh
(not one per worker or per call) after WeChat calls the token stale."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg

from gateway.store import pool as pool_mod
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

CUSTOM = "/cgi-bin/message/custom/send"


async def test_one_fetch_for_many_sends_and_one_refresh_after_40001(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    followers = [f"u{i}" for i in range(200)]
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", followers, "subscribe")
        await h.add_followers(pool, "svc", followers, window_ends_at=now + dt.timedelta(hours=40))
        other = await pool_mod.create(db_url, size=5)
        settings = h.settings(db_url, mock.base)
        workers = [
            worker_mod.Worker(settings, pool, client, worker_id="w1", options=h.FAST),
            worker_mod.Worker(settings, other, client, worker_id="w2", options=h.FAST),
        ]
        try:
            await h.add_messages(pool, "svc", "customer_service", [[o] for o in followers], at=now)
            await asyncio.gather(*(w.drain(timeout=30) for w in workers))
            assert (await mock.account("svc"))["token_fetches"]["stable_token"] == 1
            assert await h.delivery_statuses(pool, "svc") == {"sent": 200}

            await mock.invalidate_tokens("svc")
            await h.add_messages(pool, "svc", "customer_service", [[o] for o in followers], at=now)
            await asyncio.gather(*(w.drain(timeout=30) for w in workers))
        finally:
            await other.close()
        assert await h.delivery_statuses(pool, "svc") == {"sent": 400}
        assert (await mock.account("svc"))["token_fetches"]["stable_token"] == 2
        log = await mock.sent("svc")
        stale = [r for r in log if r["errcode"] == 40001]
        assert stale, "the stale token was used and refused"
        assert sum(1 for r in log if r["delivered"]) == 400
