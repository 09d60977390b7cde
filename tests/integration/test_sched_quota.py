"""Mass quotas in the quota time zone (Asia/Shanghai): 4 per follower per month on a service
account, 1 per day on a subscription account; held until the next period starts."""

from __future__ import annotations

import dataclasses
import datetime as dt

import asyncpg

from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

MASS = "/cgi-bin/message/mass/send"
SENDALL = "/cgi-bin/message/mass/sendall"
UTC = dt.UTC


async def test_fifth_mass_message_of_the_month_waits_for_next_month(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    # 2025-01-31 20:00 UTC is already 1 February, 04:00 in Shanghai.
    clock = h.Clock(dt.datetime(2025, 1, 31, 20, 0, tzinfo=UTC))
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", ["u1", "u2"], "subscribe")
        await h.add_followers(pool, "svc", ["u1", "u2"])
        ids = await h.add_messages(
            pool,
            "svc",
            "mass",
            [["u1", "u2"]] * 5,
            at=clock(),
            audience={"openids": ["u1", "u2"]},
            expires_at=clock() + dt.timedelta(days=60),
        )
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        await worker.drain(timeout=10)

        statuses = [(await h.message(pool, "svc", m))["status"] for m in ids]
        assert statuses == ["sent"] * 4 + ["held"]
        fifth = await h.message(pool, "svc", ids[4])
        march_1_shanghai = dt.datetime(2025, 2, 28, 16, 0, tzinfo=UTC)
        assert (fifth["reason"], fifth["release_at"]) == ("mass_quota_exhausted", march_1_shanghai)
        usage = await pool.fetch(
            "SELECT openid, period, used FROM follower_mass_usage ORDER BY openid"
        )
        assert [(r["openid"], r["period"], r["used"]) for r in usage] == [
            ("u1", dt.date(2025, 2, 1), 4),
            ("u2", dt.date(2025, 2, 1), 4),
        ]
        log = await mock.sent("svc")
        assert [r["path"] for r in log] == [MASS] * 4
        assert all(r["verdict"] == "ok" for r in log)
        assert len({r["body"]["clientmsgid"] for r in log}) == 4

        # A minute before the month turns in Shanghai nothing moves; at the turn it goes.
        clock.set(march_1_shanghai - dt.timedelta(minutes=1))
        assert await worker.drain(timeout=10) == 0
        clock.set(march_1_shanghai)
        await worker.drain(timeout=10)
        assert (await h.message(pool, "svc", ids[4]))["status"] == "sent"
        assert (await mock.follower("svc", "u1"))["mass"]["used"] == 1


async def test_second_mass_message_of_the_day_waits_for_tomorrow(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    # 23:59 in Shanghai: the next day starts one minute later.
    clock = h.Clock(dt.datetime(2025, 3, 10, 15, 59, tzinfo=UTC))
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await h.add_account(pool, "sub", "subscription")
        await mock.register("sub", "subscription", sink)
        await mock.act("sub", "u1", "subscribe")
        await h.add_followers(pool, "sub", ["u1"])
        first, second = await h.add_messages(
            pool, "sub", "mass", [[None], [None]], at=clock(), audience={"all": True}
        )
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        await worker.drain(timeout=10)
        assert (await h.message(pool, "sub", first))["status"] == "sent"
        held = await h.message(pool, "sub", second)
        next_day = dt.datetime(2025, 3, 10, 16, 0, tzinfo=UTC)
        assert (held["status"], held["reason"], held["release_at"]) == (
            "held",
            "daily_mass_used",
            next_day,
        )
        clock.set(next_day)
        await worker.drain(timeout=10)
        assert (await h.message(pool, "sub", second))["status"] == "sent"
        log = await mock.sent("sub")
        assert [(r["path"], r["body"]["filter"], r["verdict"]) for r in log] == [
            (SENDALL, {"is_to_all": True}, "ok")
        ] * 2


async def test_reach_outside_window_uses_a_one_member_tag_and_a_unit(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(UTC))
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act("svc", "u1", "subscribe")
        await h.add_followers(pool, "svc", ["u1"], window_ends_at=clock() - dt.timedelta(days=3))
        (message_id,) = await h.add_messages(
            pool, "svc", "customer_service", [["u1"]], at=clock(), outside_window="reach"
        )
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        await worker.drain(timeout=10)
        row = await h.message(pool, "svc", message_id)
        assert row["status"] == "sent" and row["wechat_msgid"] is not None
        paths = [r["path"].rsplit("/cgi-bin/", 1)[1] for r in await mock.sent("svc")]
        assert paths == [
            "tags/create",
            "tags/members/batchtagging",
            "message/mass/sendall",
            "tags/delete",
        ]
        assert (await mock.account("svc"))["tags"] == 0
        assert await pool.fetchval("SELECT used FROM follower_mass_usage") == 1
        (delivery,) = await h.deliveries_of(pool, "svc", message_id)
        assert (delivery["channel"], delivery["quota_kind"]) == ("mass_single", "follower_month")


async def test_a_hold_past_expiry_expires_with_its_reason(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime(2025, 1, 20, 0, 0, tzinfo=UTC))
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await h.add_followers(pool, "svc", ["u1"])
        await pool.execute("INSERT INTO follower_mass_usage VALUES ('svc', 'u1', '2025-01-01', 4)")
        (message_id,) = await h.add_messages(
            pool,
            "svc",
            "mass",
            [["u1"]],
            at=clock(),
            audience={"openids": ["u1"]},
            expires_at=clock() + dt.timedelta(days=3),
        )
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        await worker.drain(timeout=10)
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["reason"]) == ("expired", "mass_quota_exhausted")
        assert await mock.sent("svc") == []


async def test_openid_list_goes_out_in_one_call_whatever_the_pass_share(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """The mass API has a daily call quota: 300 recipients are one call, not six, even when
    a pass takes 50 rows per account."""
    followers = [f"u{i}" for i in range(300)]
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", followers, "subscribe")
        await h.add_followers(pool, "svc", followers)
        (message_id,) = await h.add_messages(
            pool, "svc", "mass", [followers], at=dt.datetime.now(UTC), audience={"all": True}
        )
        opts = dataclasses.replace(h.FAST, claim_per_account=50, claim_total=50)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", options=opts
        )
        await worker.drain(timeout=10)
        (call,) = await mock.sent("svc")
        assert (call["path"], len(call["body"]["touser"]), call["verdict"]) == (MASS, 300, "ok")
        row = await h.message(pool, "svc", message_id)
        assert row["status"] == "sent"
