"""Two workers (two pools, as two processes would have) drain the same queue: every message is
sent exactly once and no quota is ever passed."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import time

import asyncpg

from gateway.store import pool as pool_mod
from gateway.wechat import client as wx
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

log = logging.getLogger(__name__)

CUSTOM = "/cgi-bin/message/custom/send"
MASS = "/cgi-bin/message/mass/send"


async def _two_workers(
    pool: asyncpg.Pool, db_url: str, mock: h.Mock, client: wx.WeChatClient
) -> tuple[worker_mod.Worker, worker_mod.Worker, asyncpg.Pool]:
    other = await pool_mod.create(db_url, size=5)
    settings = h.settings(db_url, mock.base)
    first = worker_mod.Worker(settings, pool, client, worker_id="w1", options=h.FAST)
    second = worker_mod.Worker(settings, other, client, worker_id="w2", options=h.FAST)
    return first, second, other


async def test_two_workers_send_ten_thousand_messages_once_each(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    window = now + dt.timedelta(hours=40)
    seed_followers = [f"s{i}" for i in range(1000)]
    counted_followers = [f"c{i}" for i in range(400)]
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await h.add_account(pool, "sub", "subscription", profile="wechat-2023")
        await mock.register("sub", "subscription", sink, profile="wechat-2023")
        await mock.act_many("svc", seed_followers, "subscribe")
        await mock.act_many("sub", counted_followers, "subscribe")
        await mock.act_many("sub", counted_followers, "text", content="hi")
        await h.add_followers(pool, "svc", seed_followers, window_ends_at=window)
        await h.add_followers(
            pool, "sub", counted_followers, window_ends_at=window, window_remaining=5
        )
        # 8 messages to each seed follower; 5 to each counted follower, and a 6th to 50 of
        # them that their allowance of 5 must hold back: 10,050 messages.
        svc_recipients = [[o] for _ in range(8) for o in seed_followers]
        sub_recipients = [[o] for _ in range(5) for o in counted_followers]
        sub_recipients += [[o] for o in counted_followers[:50]]
        await h.add_messages(
            pool,
            "svc",
            "customer_service",
            svc_recipients,
            at=now,
            contents=[_text(f"svc-{i}") for i in range(len(svc_recipients))],
        )
        await h.add_messages(
            pool,
            "sub",
            "customer_service",
            sub_recipients,
            at=now,
            contents=[_text(f"sub-{i}") for i in range(len(sub_recipients))],
        )
        first, second, other = await _two_workers(pool, db_url, mock, client)
        try:
            started = time.monotonic()
            done = await asyncio.gather(first.drain(timeout=90), second.drain(timeout=90))
            elapsed = time.monotonic() - started
        finally:
            await other.close()
        total = len(svc_recipients) + len(sub_recipients)
        log.warning(
            "drained %d messages in %.2f s: %.0f messages/s (per worker: %s)",
            total,
            elapsed,
            total / elapsed,
            done,
        )
        assert sum(done) == total
        assert all(n > 0 for n in done)  # both workers took part

        assert await h.delivery_statuses(pool, "svc") == {"sent": 8000}
        assert await h.delivery_statuses(pool, "sub") == {"sent": 2000, "held": 50}
        svc_log = await mock.sent("svc")
        assert all(r["path"] == CUSTOM and r["verdict"] == "ok" for r in svc_log)
        texts = collections.Counter(r["body"]["text"]["content"] for r in svc_log)
        assert len(texts) == 8000 and set(texts.values()) == {1}  # each exactly once
        sub_log = await mock.sent("sub")
        assert all(r["errcode"] == 0 for r in sub_log)  # never a 45047 (count exceeded)
        per_follower = collections.Counter(r["body"]["touser"] for r in sub_log)
        assert len(sub_log) == 2000 and set(per_follower.values()) == {5}
        held = await pool.fetch(
            "SELECT DISTINCT reason FROM deliveries WHERE account_id = 'sub' AND status = 'held'"
        )
        assert [r["reason"] for r in held] == ["window_closed"]
        remaining = await pool.fetchval(
            "SELECT array_agg(DISTINCT window_remaining) FROM followers WHERE account_id = 'sub'"
        )
        assert remaining == [0]


async def test_two_workers_never_pass_the_monthly_mass_quota(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    followers = [f"u{i}" for i in range(300)]
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", followers, "subscribe")
        await h.add_followers(pool, "svc", followers)
        ids = await h.add_messages(
            pool,
            "svc",
            "mass",
            [followers] * 6,
            at=now,
            audience={"openids": followers},
            expires_at=now + dt.timedelta(days=40),
            contents=[_text(f"mass-{i}") for i in range(6)],
        )
        first, second, other = await _two_workers(pool, db_url, mock, client)
        try:
            await asyncio.gather(first.drain(timeout=60), second.drain(timeout=60))
        finally:
            await other.close()

        log_ = await mock.sent("svc")
        assert all(r["path"] == MASS and r["verdict"] == "ok" for r in log_)  # nothing filtered
        assert len({r["body"]["clientmsgid"] for r in log_}) == len(log_)
        received = collections.Counter(o for r in log_ for o in r["body"]["touser"])
        assert received == {o: 4 for o in followers}
        for openid in followers[:20]:
            assert (await mock.follower("svc", openid))["mass"]["used"] == 4
        used = await pool.fetch("SELECT DISTINCT used FROM follower_mass_usage")
        assert [r["used"] for r in used] == [4]
        statuses = await pool.fetch(
            "SELECT status, reason, count(*) AS n FROM deliveries GROUP BY status, reason"
        )
        assert {(r["status"], r["reason"], r["n"]) for r in statuses} == {
            ("sent", None, 1200),
            ("held", "mass_quota_exhausted", 600),
        }
        assert len(ids) == 6


def _text(content: str) -> dict[str, object]:
    return {"msgtype": "text", "text": {"content": content}}
