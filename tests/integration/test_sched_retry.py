"""WeChat errors: retried with backoff (mass batches pinned to their clientmsgid), expired when
the backoff would pass expires_at, failed on other codes; job-finish results; the sweeps."""

from __future__ import annotations

import dataclasses
import datetime as dt

import asyncpg

from gateway.store import expiry, job_finish
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

CUSTOM = "/cgi-bin/message/custom/send"
MASS = "/cgi-bin/message/mass/send"
MAX_JITTER = dataclasses.replace(h.FAST, jitter=lambda: 1.0)


async def _service(pool: asyncpg.Pool, mock: h.Mock, sink: str, openids: list[str]) -> None:
    await h.add_account(pool, "svc", "service")
    await mock.register("svc", "service", sink)
    await mock.act_many("svc", openids, "subscribe")


async def test_system_error_backs_off_then_sends(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    t0 = clock()
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await _service(pool, mock, sink, ["u1"])
        await h.add_followers(pool, "svc", ["u1"], window_ends_at=t0 + dt.timedelta(hours=40))
        (message_id,) = await h.add_messages(pool, "svc", "customer_service", [["u1"]], at=t0)
        await mock.fault(path=CUSTOM, errcode=-1, rate=1)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base),
            pool,
            client,
            worker_id="w1",
            clock=clock,
            options=MAX_JITTER,
        )
        await worker.drain(timeout=10)
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["reason"], row["attempts"], row["errcode"]) == (
            "held",
            "retry_backoff",
            1,
            -1,
        )
        assert row["release_at"] == t0 + dt.timedelta(seconds=1)  # base 1 s, full jitter at 1.0

        clock.set(row["release_at"])
        await worker.drain(timeout=10)
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["attempts"]) == ("held", 2)
        assert row["release_at"] == clock() + dt.timedelta(seconds=2)

        await mock.clear_faults()
        clock.set(row["release_at"])
        await worker.drain(timeout=10)
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["attempts"], row["errcode"]) == ("sent", 3, None)
        steps = [(t["status"], t["reason"]) for t in await h.history(pool, "svc", message_id)]
        assert steps == [
            ("sending", None),
            ("held", "retry_backoff"),
            ("sending", None),
            ("held", "retry_backoff"),
            ("sending", None),
            ("sent", None),
        ]


async def test_backoff_past_expiry_expires_with_the_reason(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    t0 = clock()
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await _service(pool, mock, sink, ["u1"])
        await h.add_followers(pool, "svc", ["u1"], window_ends_at=t0 + dt.timedelta(hours=40))
        (message_id,) = await h.add_messages(
            pool,
            "svc",
            "customer_service",
            [["u1"]],
            at=t0,
            expires_at=t0 + dt.timedelta(seconds=3),
        )
        await mock.fault(path=CUSTOM, http_status=502, rate=1)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base),
            pool,
            client,
            worker_id="w1",
            clock=clock,
            options=MAX_JITTER,
        )
        await worker.drain(timeout=10)
        assert (await h.message(pool, "svc", message_id))["status"] == "held"
        clock.advance(seconds=1)
        await worker.drain(timeout=10)  # the next wait (2 s) would end at expires_at
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["reason"], row["attempts"]) == ("expired", "retry_backoff", 2)
        assert "HTTP 502" in row["errmsg"]


async def test_mass_batch_retry_reuses_its_clientmsgid_and_units(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    openids = ["u1", "u2", "u3"]
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await _service(pool, mock, sink, openids)
        await h.add_followers(pool, "svc", openids)
        (message_id,) = await h.add_messages(
            pool, "svc", "mass", [openids], at=clock(), audience={"openids": openids}
        )
        await mock.fault(path=MASS, errcode=45011, rate=1, count=1)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base),
            pool,
            client,
            worker_id="w1",
            clock=clock,
            options=MAX_JITTER,
        )
        await worker.drain(timeout=10)
        rows = await h.deliveries_of(pool, "svc", message_id)
        assert {(r["status"], r["reason"]) for r in rows} == {("held", "rate_limited")}
        assert [r["release_at"] is not None for r in rows] == [True, False, False]  # one leader
        assert len({r["client_msg_id"] for r in rows}) == 1
        used = "SELECT array_agg(used ORDER BY openid) FROM follower_mass_usage"
        assert await pool.fetchval(used) == [1, 1, 1]  # kept while the batch waits

        clock.advance(seconds=5)
        await worker.drain(timeout=10)
        rows = await h.deliveries_of(pool, "svc", message_id)
        assert {r["status"] for r in rows} == {"sent"}
        assert await pool.fetchval(used) == [1, 1, 1]
        log = await mock.sent("svc")
        assert [(r["errcode"], r["delivered"]) for r in log] == [(45011, False), (0, True)]
        assert {r["body"]["clientmsgid"] for r in log} == {rows[0]["client_msg_id"]}
        assert sorted(log[1]["body"]["touser"]) == openids


async def test_other_errcodes_fail_and_give_back_units(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    openids = ["u1", "u2"]
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await _service(pool, mock, sink, openids)
        await h.add_followers(pool, "svc", openids)
        news = {"msgtype": "news", "news": {"articles": [{"title": "t", "url": "u"}]}}
        (message_id,) = await h.add_messages(
            pool,
            "svc",
            "mass",
            [openids],
            at=dt.datetime.now(dt.UTC),
            audience={"openids": openids},
            content=news,  # not a mass message type: 40008
        )
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", options=h.FAST
        )
        await worker.drain(timeout=10)
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["reason"], row["errcode"]) == ("failed", "wechat_error", 40008)
        assert row["errmsg"].startswith("invalid message type")
        assert await pool.fetchval("SELECT sum(used) FROM follower_mass_usage") == 0


async def test_job_finish_moves_sent_to_delivered_or_failed(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await _service(pool, mock, sink, ["u1", "u2"])
        await h.add_followers(pool, "svc", ["u1", "u2"])
        now = dt.datetime.now(dt.UTC)
        tpl_ok, tpl_blocked = await h.add_messages(
            pool, "svc", "template", [["u1"], ["u2"]], at=now
        )
        (mass_id,) = await h.add_messages(
            pool, "svc", "mass", [["u1", "u2"]], at=now, audience={"openids": ["u1", "u2"]}
        )
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", options=h.FAST
        )
        await worker.drain(timeout=10)
        ok, blocked, mass = [
            await h.message(pool, "svc", m) for m in (tpl_ok, tpl_blocked, mass_id)
        ]
        assert ok["status"] == blocked["status"] == mass["status"] == "sent"

        async with pool.acquire() as conn:
            assert (
                await job_finish.record_job_finish(
                    conn, "svc", ok["wechat_msgid"], "success", {}, now=dt.datetime.now(dt.UTC)
                )
                == 1
            )
            assert (
                await job_finish.record_job_finish(
                    conn,
                    "svc",
                    blocked["wechat_msgid"],
                    "failed:user block",
                    {},
                    now=dt.datetime.now(dt.UTC),
                )
                == 1
            )
            counts = {"TotalCount": 2, "FilterCount": 2, "SentCount": 2, "ErrorCount": 0}
            changed = await job_finish.record_job_finish(
                conn,
                "svc",
                mass["wechat_msgid"],
                "send success",
                counts,
                now=dt.datetime.now(dt.UTC),
            )
            assert changed == 2
            # A repeated push changes nothing.
            assert (
                await job_finish.record_job_finish(
                    conn, "svc", ok["wechat_msgid"], "success", {}, now=dt.datetime.now(dt.UTC)
                )
                == 0
            )

        assert (await h.message(pool, "svc", tpl_ok))["status"] == "delivered"
        row = await h.message(pool, "svc", tpl_blocked)
        assert (row["status"], row["errmsg"]) == ("failed", "failed:user block")
        last = (await h.history(pool, "svc", mass_id))[-1]
        assert last["status"] == "delivered"
        assert last["detail"]["job"] == {
            "msgid": mass["wechat_msgid"],
            "status": "send success",
            **counts,
        }


async def test_job_finish_stored_before_the_send_was_recorded(pool: asyncpg.Pool) -> None:
    now = dt.datetime.now(dt.UTC)
    await h.add_account(pool, "svc", "service")
    (message_id,) = await h.add_messages(pool, "svc", "template", [["u1"]], at=now)
    await pool.execute(
        "INSERT INTO inbound_events (account_id, dedupe_key, openid, msg_type, event, msg_id,"
        " create_time, fields) VALUES ('svc', 'k', 'u1', 'event', 'TEMPLATESENDJOBFINISH',"
        " '777', now(), $1)",
        {"Status": "success", "MsgID": "777"},
    )
    await pool.execute(
        "UPDATE deliveries SET status = 'sent', wechat_msgid = '777' WHERE message_id = $1",
        message_id,
    )
    async with pool.acquire() as conn:
        assert await job_finish.apply_early_job_finishes(conn, [("svc", "777")], now) == 1
    assert (await h.message(pool, "svc", message_id))["status"] == "delivered"


async def test_sweep_expires_event_holds_and_retention_purges(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await _service(pool, mock, sink, ["u1"])
        await h.add_followers(pool, "svc", ["u1"], window_ends_at=clock() - dt.timedelta(days=1))
        (message_id,) = await h.add_messages(
            pool,
            "svc",
            "customer_service",
            [["u1"]],
            at=clock(),
            expires_at=clock() + dt.timedelta(hours=1),
        )
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        await worker.drain(timeout=10)
        assert (await h.message(pool, "svc", message_id))["reason"] == "window_closed"
        assert await worker.maintenance.sweep_expired() == 0
        clock.advance(hours=1)
        assert await worker.maintenance.sweep_expired() == 1
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["reason"]) == ("expired", "window_closed")

        await pool.execute(
            "INSERT INTO inbound_events (account_id, dedupe_key, openid, msg_type, create_time,"
            " received_at, fields) VALUES ('svc', 'old', 'u1', 'text', now(), $1, '{}')",
            clock() - dt.timedelta(days=31),
        )
        await pool.execute("UPDATE messages SET updated_at = $1", clock() - dt.timedelta(days=91))
        deleted = await worker.maintenance.purge_old()
        assert deleted["inbound_events"] == 1 and deleted["messages"] == 1
        assert await pool.fetchval("SELECT count(*) FROM deliveries") == 0


async def test_cancel_gives_back_the_units_a_waiting_batch_keeps(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    openids = ["u1", "u2"]
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await _service(pool, mock, sink, openids)
        await h.add_followers(pool, "svc", openids)
        (message_id,) = await h.add_messages(
            pool,
            "svc",
            "mass",
            [openids],
            at=dt.datetime.now(dt.UTC),
            audience={"openids": openids},
        )
        await mock.fault(path=MASS, errcode=-1, rate=1)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", options=h.FAST
        )
        await worker.drain(timeout=10)
        assert await pool.fetchval("SELECT sum(used) FROM follower_mass_usage") == 2
        async with pool.acquire() as conn:
            now = dt.datetime.now(dt.UTC)
            assert await expiry.cancel_message(conn, "svc", message_id, now) == 2
        assert await pool.fetchval("SELECT sum(used) FROM follower_mass_usage") == 0
        assert (await h.message(pool, "svc", message_id))["status"] == "canceled"
