"""Release by the customer-service window: sent when open, held when closed, released at once
by the inbound path's wake-up (LISTEN/NOTIFY, not the poll)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import asyncpg

from scheduler import lifecycle
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

CUSTOM = "/cgi-bin/message/custom/send"


async def test_open_window_sends_closed_window_holds(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", ["open", "closed"], "subscribe")
        await h.add_followers(pool, "svc", ["open"], window_ends_at=now + dt.timedelta(hours=47))
        await h.add_followers(pool, "svc", ["closed"], window_ends_at=now - dt.timedelta(hours=1))
        sent_id, held_id = await h.add_messages(
            pool, "svc", "customer_service", [["open"], ["closed"]], at=now
        )

        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", options=h.FAST
        )
        assert await worker.drain(timeout=10) == 2

        sent = await h.message(pool, "svc", sent_id)
        assert sent["status"] == "sent" and sent["attempts"] == 1
        held = await h.message(pool, "svc", held_id)
        assert (held["status"], held["reason"], held["release_at"]) == (
            "held",
            "window_closed",
            None,
        )
        (row,) = await h.deliveries_of(pool, "svc", held_id)
        assert row["wait_for"] == "interaction" and row["attempts"] == 0
        log = await mock.sent("svc")
        assert [(r["path"], r["body"]["touser"], r["verdict"]) for r in log] == [
            (CUSTOM, "open", "ok")
        ]
        assert [t["status"] for t in await h.history(pool, "svc", sent_id)] == ["sending", "sent"]
        assert [(t["status"], t["reason"]) for t in await h.history(pool, "svc", held_id)] == [
            ("held", "window_closed")
        ]


async def test_wake_up_releases_through_listen_without_polling(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act("svc", "u1", "subscribe")
        await h.add_followers(pool, "svc", ["u1"], window_ends_at=now - dt.timedelta(hours=1))
        (message_id,) = await h.add_messages(pool, "svc", "customer_service", [["u1"]], at=now)
        settings = h.settings(db_url, mock.base)
        first = worker_mod.Worker(settings, pool, client, worker_id="w0", options=h.FAST)
        await first.drain(timeout=10)
        assert (await h.message(pool, "svc", message_id))["status"] == "held"
        # The poll is far away: only the NOTIFY can release it in time.
        opts = dataclasses.replace(h.FAST, tick_seconds=3600)
        handle = await lifecycle.start_worker(
            settings, pool, client=client, options=opts, worker_id="w1"
        )
        try:
            # The inbound path's transaction: the follower interacted, wake its deliveries.
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "UPDATE followers SET window_ends_at = now() + interval '48 hours'"
                    " WHERE account_id = 'svc' AND openid = 'u1'"
                )
                await conn.execute(
                    "UPDATE deliveries SET release_at = now() WHERE account_id = 'svc'"
                    " AND openid = 'u1' AND status = 'held' AND wait_for IS NOT NULL"
                )
                await conn.execute("SELECT pg_notify('wxgate_release', 'svc')")
            woke = time.monotonic()
            await mock.wait_sent("svc", 1, path=CUSTOM, within=5)
            assert time.monotonic() - woke < 1.0
        finally:
            await handle.stop()  # lets the pass in flight record its result
        assert (await h.message(pool, "svc", message_id))["status"] == "sent"


async def test_counted_window_consumes_remaining(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """wechat-2023: a window with 2 messages left sends 2 of 3 and holds the third."""
    now = dt.datetime.now(dt.UTC)
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "sub", "subscription", profile="wechat-2023")
        await mock.register("sub", "subscription", sink, profile="wechat-2023")
        await mock.act("sub", "u1", "subscribe")
        await mock.act("sub", "u1", "text", content="hi")
        await h.add_followers(
            pool, "sub", ["u1"], window_ends_at=now + dt.timedelta(hours=40), window_remaining=2
        )
        ids = await h.add_messages(pool, "sub", "customer_service", [["u1"]] * 3, at=now)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", options=h.FAST
        )
        await worker.drain(timeout=10)
        statuses = [(await h.message(pool, "sub", m))["status"] for m in ids]
        assert statuses == ["sent", "sent", "held"]
        remaining = await pool.fetchval(
            "SELECT window_remaining FROM followers WHERE account_id = 'sub' AND openid = 'u1'"
        )
        assert remaining == 0
        assert len(await mock.sent("sub")) == 2


async def test_template_refused_for_unsubscribed_is_re_decided(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """43004 means our follower row was stale: it is corrected and the message waits for a
    re-subscribe instead of failing or looping."""
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act("svc", "gone", "subscribe")
        await mock.act("svc", "gone", "unsubscribe")
        await h.add_followers(pool, "svc", ["gone"])  # we missed the unsubscribe
        (message_id,) = await h.add_messages(pool, "svc", "template", [["gone"]], at=clock())
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base),
            pool,
            client,
            worker_id="w1",
            clock=clock,
            options=dataclasses.replace(h.FAST, jitter=lambda: 1.0),
        )
        await worker.drain(timeout=10)
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["reason"], row["errcode"]) == ("held", "not_subscribed", 43004)
        clock.advance(seconds=2)
        await worker.drain(timeout=10)
        (delivery,) = await h.deliveries_of(pool, "svc", message_id)
        assert (delivery["status"], delivery["wait_for"]) == ("held", "subscribe")
        subscribed = await pool.fetchval(
            "SELECT subscribed FROM followers WHERE account_id = 'svc' AND openid = 'gone'"
        )
        assert subscribed is False
        assert len(await mock.sent("svc")) == 1  # one refused call, no loop
