"""Quota units come back only when WeChat refused a send for good: a mass message retried after
a timeout (WeChat may have delivered it) keeps its units when it expires or is canceled; a
retry that first reaches WeChat in a new month takes a unit of that month."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

import asyncpg

from gateway.store import expiry
from gateway.wechat import client as wx
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

MASS = "/cgi-bin/message/mass/send"
OPENIDS = ["u1", "u2"]
USED = "SELECT coalesce(sum(used), 0) FROM follower_mass_usage WHERE period = $1"
MAX_JITTER = dataclasses.replace(h.FAST, jitter=lambda: 1.0)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


async def _timed_out_batch(
    pool: asyncpg.Pool,
    db_url: str,
    mock: h.Mock,
    sink: str,
    clock: h.Clock,
    ttl: dt.timedelta = dt.timedelta(minutes=10),
) -> tuple[worker_mod.Worker, int]:
    """An openid-list mass whose call timed out on our side; the platform sent it anyway."""
    await h.add_account(pool, "svc", "service")
    await mock.register("svc", "service", sink)
    await mock.act_many("svc", OPENIDS, "subscribe")
    await h.add_followers(pool, "svc", OPENIDS)
    (message_id,) = await h.add_messages(
        pool,
        "svc",
        "mass",
        [OPENIDS],
        at=clock(),
        audience={"openids": OPENIDS},
        expires_at=clock() + ttl,
    )
    await mock.fault(path=MASS, latency_ms=600, rate=1, count=1)
    client = wx.WeChatClient(mock.session, mock.base, timeout=0.2)
    worker = worker_mod.Worker(
        h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
    )
    await worker.drain(timeout=10)
    await mock.wait_sent("svc", 1, path=MASS)
    rows = await h.deliveries_of(pool, "svc", message_id)
    assert {(r["status"], r["reason"]) for r in rows} == {("held", "retry_backoff")}
    return worker, message_id


def _month(at: dt.datetime) -> dt.date:
    local = at.astimezone(SHANGHAI)
    return dt.date(local.year, local.month, 1)


async def test_a_batch_retried_after_a_timeout_keeps_its_units_when_it_expires(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, _client, sink):
        worker, message_id = await _timed_out_batch(pool, db_url, mock, sink, clock)
        assert await pool.fetchval(USED, _month(clock())) == 2
        clock.advance(minutes=11)
        assert await worker.maintenance.sweep_expired() == 2
        assert (await h.message(pool, "svc", message_id))["status"] == "expired"
        assert await pool.fetchval(USED, _month(clock())) == 2  # WeChat may have counted them


async def test_a_batch_retried_after_a_timeout_keeps_its_units_when_claimed_expired(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, _client, sink):
        worker, message_id = await _timed_out_batch(pool, db_url, mock, sink, clock)
        clock.advance(minutes=11)
        await worker.drain(timeout=10)  # the pinned retry is claimed past expires_at
        assert (await h.message(pool, "svc", message_id))["status"] == "expired"
        assert await pool.fetchval(USED, _month(clock())) == 2


async def test_a_batch_retried_after_a_timeout_keeps_its_units_when_canceled(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, _client, sink):
        _worker, message_id = await _timed_out_batch(pool, db_url, mock, sink, clock)
        async with pool.acquire() as conn:
            assert await expiry.cancel_message(conn, "svc", message_id, clock()) == 2
        assert await pool.fetchval(USED, _month(clock())) == 2


async def test_a_refused_batch_first_reaching_wechat_in_a_new_month_takes_its_units(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    feb_1 = dt.datetime(2025, 2, 1, tzinfo=SHANGHAI).astimezone(dt.UTC)
    clock = h.Clock(feb_1 - dt.timedelta(seconds=2))
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", OPENIDS, "subscribe")
        await h.add_followers(pool, "svc", OPENIDS)
        (message_id,) = await h.add_messages(
            pool, "svc", "mass", [OPENIDS], at=clock(), audience={"openids": OPENIDS}
        )
        await mock.fault(path=MASS, errcode=45011, rate=1, count=1)  # refused: not sent
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base),
            pool,
            client,
            worker_id="w1",
            clock=clock,
            options=MAX_JITTER,
        )
        await worker.drain(timeout=10)
        assert await pool.fetchval(USED, dt.date(2025, 1, 1)) == 2
        clock.advance(seconds=5)  # the retry comes in February
        await worker.drain(timeout=10)
        rows = await h.deliveries_of(pool, "svc", message_id)
        assert {r["status"] for r in rows} == {"sent"}
        assert await pool.fetchval(USED, dt.date(2025, 1, 1)) == 0
        assert await pool.fetchval(USED, dt.date(2025, 2, 1)) == 2
        assert {r["quota_key"] for r in rows} == {dt.date(2025, 2, 1)}


async def test_a_batch_of_unknown_outcome_fails_after_24_hours_keeping_its_units(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, _client, sink):
        worker, message_id = await _timed_out_batch(
            pool, db_url, mock, sink, clock, ttl=dt.timedelta(days=3)
        )
        clock.advance(hours=24)  # the platform forgot the clientmsgid
        await worker.drain(timeout=10)
        assert len([r for r in await mock.sent("svc") if r["delivered"]]) == 1
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["reason"]) == ("failed", "outcome_unknown")
        assert await pool.fetchval(USED, _month(clock() - dt.timedelta(hours=24))) == 2
