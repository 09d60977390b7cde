"""A worker that is slow, not dead: WeChat answers slowly, so the rows one pass claimed take
longer to send than their lease. Another worker takes the expired leases over; the slow one
must not go on to call WeChat for rows it no longer holds, or customer-service messages go
out twice without any crash (beyond the at-least-once allowance)."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt

import asyncpg
import pytest

from scheduler import lifecycle, ratelimit
from tests.integration import sched_helpers as h
from tests.reliability import stack

CUSTOM = "/cgi-bin/message/custom/send"


@pytest.mark.slow
async def test_a_slow_worker_never_calls_after_its_lease(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    followers = [f"u{i}" for i in range(60)]
    opts = dataclasses.replace(
        h.FAST,
        limits=ratelimit.Limits(calls_per_second=1000, burst=1000, concurrency_per_account=3),
        lease=dt.timedelta(seconds=2),
        call_timeout=1.0,
        tick_seconds=0.1,
    )
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", followers, "subscribe")
        await h.add_followers(pool, "svc", followers, window_ends_at=now + dt.timedelta(hours=40))
        contents = [{"msgtype": "text", "text": {"content": o}} for o in followers]
        await h.add_messages(
            pool, "svc", "customer_service", [[o] for o in followers], at=now, contents=contents
        )
        # 60 rows, 3 calls at a time, 250 ms each: 5 s of sending against a 2 s lease
        await mock.fault(path=CUSTOM, latency_ms=250, rate=1)
        settings = h.settings(db_url, mock.base)
        first = await lifecycle.start_worker(
            settings, pool, client=client, options=opts, worker_id="slow"
        )
        second = None
        try:
            await mock.wait_sent("svc", 3, path=CUSTOM, within=10)
            second = await lifecycle.start_worker(
                settings, pool, client=client, options=opts, worker_id="other"
            )

            async def drained() -> bool:
                n = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent'")
                return int(n) == len(followers)

            await stack.until(drained, "every delivery sent", 60)
        finally:
            await first.stop()
            if second is not None:
                await second.stop()
        sent = [r for r in await mock.sent("svc") if r["delivered"]]
        texts = collections.Counter(r["body"]["text"]["content"] for r in sent)
        assert set(texts) == set(followers)
        assert [t for t, n in texts.items() if n > 1] == []  # nobody crashed: no repeats
