"""Service `all` masses in batches (issue 19): the audience expanded into mass_batches with
each recipient's unit taken once (also with two workers at once), a follower with no unit
left held until the next month and sent then, a killed worker's batch taken over with its
clientmsgid (no second delivery), job-finish counts per batch, cancel and expiry."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from typing import Any

import asyncpg
import pytest

from gateway.domain import periods
from gateway.store import expiry, job_finish, mass_batches, mass_expansion, messages
from gateway.wechat import payloads
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

MASS = "/cgi-bin/message/mass/send"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
FOLLOWERS = [f"u{i}" for i in range(7)]
USED = "SELECT openid, used FROM follower_mass_usage WHERE account_id = 'svc' ORDER BY openid"


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # Batches of 3 openids, so that a handful of followers make several calls.
    monkeypatch.setattr(mass_expansion, "BATCH_MAX", 3)


def _month(at: dt.datetime) -> dt.date:
    local = at.astimezone(SHANGHAI)
    return dt.date(local.year, local.month, 1)


def _all(at: dt.datetime, **kw: Any) -> messages.NewMessage:
    fields: dict[str, Any] = {
        "type": "mass",
        "recipient": None,
        "audience": {"all": True},
        "content": h.TEXT,
        "template": None,
        "outside_window": "hold",
        "not_before": None,
        "expires_at": at + dt.timedelta(days=1),
        "idempotency_key": None,
        "request_hash": None,
        "openids": None,
    }
    fields.update(kw)
    return messages.NewMessage(**fields)


async def _setup(pool: asyncpg.Pool, mock: h.Mock, sink: str, openids: list[str]) -> None:
    await h.add_account(pool, "svc", "service")
    await mock.register("svc", "service", sink)
    await mock.act_many("svc", openids, "subscribe")
    await h.add_followers(pool, "svc", openids)


def _worker(
    pool: asyncpg.Pool, db_url: str, mock: h.Mock, client: Any, name: str, clock: Any = None
) -> worker_mod.Worker:
    return worker_mod.Worker(
        h.settings(db_url, mock.base), pool, client, worker_id=name, clock=clock, options=h.FAST
    )


async def _mass_calls(mock: h.Mock) -> list[dict[str, Any]]:
    return [c for c in await mock.sent("svc") if c["path"] == MASS]


async def test_an_all_mass_goes_out_in_batches_to_its_subscribed_followers(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await _setup(pool, mock, sink, FOLLOWERS)
        await h.add_followers(pool, "svc", ["gone"], subscribed=False)
        created, _ = await messages.enqueue_message(pool, "svc", _all(dt.datetime.now(dt.UTC)))
        assert created.counts == {"queued": 7} and created.recipients_total == 7
        assert await pool.fetchval("SELECT count(*) FROM deliveries") == 0
        await _worker(pool, db_url, mock, client, "w1").drain(timeout=10)
        calls = await _mass_calls(mock)
        # 7 recipients in ceil(7 / 3) = 3 calls of nearly equal size, each once.
        assert sorted(len(c["body"]["touser"]) for c in calls) == [2, 2, 3]
        assert sorted(o for c in calls for o in c["body"]["touser"]) == FOLLOWERS
        assert {c["verdict"] for c in calls} == {"ok"}
        keys = {c["body"]["clientmsgid"] for c in calls}
        assert len(keys) == 3
        rows = await pool.fetch("SELECT client_msg_id, status FROM mass_batches ORDER BY seq")
        assert {r["client_msg_id"] for r in rows} == keys
        assert {r["status"] for r in rows} == {"sent"}
        assert [tuple(r) for r in await pool.fetch(USED)] == [(o, 1) for o in FOLLOWERS]
        got = await messages.get_message(pool, "svc", created.id)
        assert (got.status, got.counts, got.recipients_total) == ("sent", {"sent": 7}, 7)
        assert got.wechat_msgid is not None
        assert [e.status for e in got.history] == ["queued", "sending", "sent"]
        one = await mass_batches.recipient(pool, "svc", created.id, "u4")
        assert one is not None and one.status == "sent"
        assert one.batch is not None and one.wechat_msgid is not None
        assert await mass_batches.recipient(pool, "svc", created.id, "gone") is None
        events = await pool.fetch(
            "SELECT type FROM webhook_events WHERE account_id = 'svc' AND type LIKE 'outbound.%'"
        )
        # The message as a whole reached `sent` once: one outbound.sent, not one per batch.
        assert [e["type"] for e in events] == ["outbound.sent"]


async def _four_of_four(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory, expires_at: dt.datetime
) -> tuple[messages.Message, list[str]]:
    """An `all` mass while u0 has had its 4 this month and u1 its 3: the message and the
    openids submitted."""
    now = dt.datetime.now(dt.UTC)
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await _setup(pool, mock, sink, FOLLOWERS)
        await pool.execute(
            "INSERT INTO follower_mass_usage (account_id, openid, period, used)"
            " VALUES ('svc', 'u0', $1, 4), ('svc', 'u1', $1, 3)",
            _month(now),
        )
        created, _ = await messages.enqueue_message(pool, "svc", _all(now, expires_at=expires_at))
        await _worker(pool, db_url, mock, client, "w1").drain(timeout=10)
        sent = sorted(o for c in await _mass_calls(mock) for o in c["body"]["touser"])
    used = dict(tuple(r) for r in await pool.fetch(USED))
    assert used == {"u0": 4, "u1": 4, **{o: 1 for o in FOLLOWERS[2:]}}
    return created, sent


async def test_a_follower_at_four_of_four_is_held_until_the_next_month(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    # SPEC 1.4: a recipient with no unit left is held until the next quota period.
    now = dt.datetime.now(dt.UTC)
    created, sent = await _four_of_four(pool, db_url, aiohttp_server, now + dt.timedelta(days=40))
    assert sent == FOLLOWERS[1:]
    got = await messages.get_message(pool, "svc", created.id)
    assert got.counts == {"sent": 6, "held": 1}
    assert (got.status, got.reason) == ("held", "mass_quota_exhausted")
    next_month = periods.next_month_start(now, SHANGHAI)
    assert got.release_at == next_month
    held = await mass_batches.recipient(pool, "svc", created.id, "u0")
    assert held is not None and (held.status, held.reason, held.batch) == (
        "held",
        "mass_quota_exhausted",
        None,
    )
    row = await pool.fetchrow(
        "SELECT status, release_at FROM deliveries WHERE account_id = 'svc' AND openid = 'u0'"
    )
    assert row is not None and tuple(row) == ("held", next_month)


async def test_a_follower_at_four_of_four_expires_when_the_message_ends_first(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    ends = periods.next_month_start(now, SHANGHAI) - dt.timedelta(minutes=1)
    if ends <= now + dt.timedelta(seconds=30):
        pytest.skip("the month ends within a minute: no expiry before it to test")
    created, sent = await _four_of_four(pool, db_url, aiohttp_server, ends)
    assert sent == FOLLOWERS[1:]
    got = await messages.get_message(pool, "svc", created.id)
    assert got.counts == {"sent": 6, "expired": 1} and got.status == "sent"
    gone = await mass_batches.recipient(pool, "svc", created.id, "u0")
    assert gone is not None and (gone.status, gone.reason) == ("expired", "mass_quota_exhausted")


async def test_a_held_follower_is_sent_in_the_next_month(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """The follower held at 4 of 4 by the expansion is sent by the delivery path once the
    month turns in Shanghai, with one unit of the new month, and the message ends `sent`."""
    start = dt.datetime.now(dt.UTC)
    if periods.next_month_start(start, SHANGHAI) - start < dt.timedelta(minutes=1):
        pytest.skip("the month turns within a minute: the first drain could cross it")
    clock = h.Clock()  # real time until the month is turned below
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await _setup(pool, mock, sink, FOLLOWERS)
        this_month = _month(start)
        await pool.execute(
            "INSERT INTO follower_mass_usage (account_id, openid, period, used)"
            " VALUES ('svc', 'u0', $1, 4)",
            this_month,
        )
        created, _ = await messages.enqueue_message(
            pool, "svc", _all(start, expires_at=start + dt.timedelta(days=40))
        )
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        await worker.drain(timeout=10)
        sent_first = sorted(o for c in await _mass_calls(mock) for o in c["body"]["touser"])
        assert sent_first == FOLLOWERS[1:]
        held = await mass_batches.recipient(pool, "svc", created.id, "u0")
        assert held is not None and (held.status, held.reason) == ("held", "mass_quota_exhausted")

        next_month = periods.next_month_start(start, SHANGHAI)
        clock.set(next_month + dt.timedelta(minutes=1))
        before = len(await mock.sent("svc"))
        await worker.drain(timeout=10)
        calls = (await mock.sent("svc"))[before:]
    # The month's jump expired the access token: the first call is refused, the token
    # fetched again and the call repeated (platform errcode 42001).
    assert {c["verdict"] for c in calls} <= {"ok", "refused: access_token expired"}
    ok = [c for c in calls if c["verdict"] == "ok"]
    # One follower: mass/send takes two openids or more, so the delivery path sends to a
    # one-member tag (`mass_single`), the tag made and dropped around the call.
    assert [c["path"] for c in ok] == [
        "/cgi-bin/tags/create",
        "/cgi-bin/tags/members/batchtagging",
        "/cgi-bin/message/mass/sendall",
        "/cgi-bin/tags/delete",
    ]
    assert ok[1]["body"]["openid_list"] == ["u0"]
    assert ok[2]["body"]["filter"] == {"is_to_all": False, "tag_id": ok[1]["body"]["tagid"]}
    sent = await mass_batches.recipient(pool, "svc", created.id, "u0")
    assert sent is not None and sent.status == "sent"
    row = await pool.fetchrow("SELECT channel, client_msg_id FROM deliveries WHERE openid = 'u0'")
    assert row is not None and row["channel"] == "mass_single"
    assert ok[2]["body"]["clientmsgid"] == row["client_msg_id"]
    status = await pool.fetchval(
        "SELECT status FROM messages WHERE account_id = 'svc' AND id = $1", created.id
    )
    assert status == "sent"
    usage = "SELECT openid, period, used FROM follower_mass_usage WHERE account_id = 'svc'"
    used = {(r["openid"], r["period"]): r["used"] for r in await pool.fetch(usage)}
    assert used[("u0", this_month)] == 4
    assert used[("u0", _month(next_month))] == 1
    assert all(used[(o, this_month)] == 1 for o in FOLLOWERS[1:])


async def test_two_workers_take_each_unit_once(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """Two `all` masses expanded and sent by two workers at once: every follower gets both
    (one unit each); a follower at 3 of 4 gets exactly one of them."""
    now = dt.datetime.now(dt.UTC)
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await _setup(pool, mock, sink, FOLLOWERS)
        await pool.execute(
            "INSERT INTO follower_mass_usage (account_id, openid, period, used)"
            " VALUES ('svc', 'u3', $1, 3)",
            _month(now),
        )
        first, _ = await messages.enqueue_message(pool, "svc", _all(now))
        second, _ = await messages.enqueue_message(pool, "svc", _all(now))
        w1 = _worker(pool, db_url, mock, client, "w1")
        w2 = _worker(pool, db_url, mock, client, "w2")
        await asyncio.gather(w1.drain(timeout=20), w2.drain(timeout=20))
        calls = await _mass_calls(mock)
        reached = sorted(o for c in calls for o in c["body"]["touser"])
        assert reached == sorted([*FOLLOWERS, *(o for o in FOLLOWERS if o != "u3")])
        assert len({c["body"]["clientmsgid"] for c in calls}) == len(calls)
        used = dict(tuple(r) for r in await pool.fetch(USED))
        assert used == {"u3": 4, **{o: 2 for o in FOLLOWERS if o != "u3"}}
        counts = [(await messages.get_message(pool, "svc", m.id)).counts for m in (first, second)]
        assert sorted(c.get("expired", 0) for c in counts) == [0, 1]
        assert sum(c["sent"] for c in counts) == 13


async def test_a_killed_workers_batch_is_taken_over_with_its_clientmsgid(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """A worker claimed a batch, its call reached WeChat, and it died before recording: the
    batch is taken over after the lease and re-sent with the same clientmsgid, which the
    platform deduplicates (45065 with the first msg_id): delivered once."""
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await _setup(pool, mock, sink, FOLLOWERS[:3])
        created, _ = await messages.enqueue_message(pool, "svc", _all(clock()))
        clock.set(dt.datetime.now(dt.UTC))  # the message's release time (the database's now)
        async with pool.acquire() as conn:
            await mass_expansion.expand_due(conn, clock(), SHANGHAI, 1)
            _, (batch,), _ = await mass_batches.claim(
                conn,
                clock(),
                SHANGHAI,
                worker_id="dead",
                lease_until=clock() + dt.timedelta(seconds=60),
                limit=8,
            )
        token = (await client.stable_token(h.app_id("svc"), h.secret("svc"))).access_token
        body = payloads.mass_openids(batch.openids, payloads.mass(h.TEXT, batch.client_msg_id))
        first = await client.send_mass(token, body)
        worker = _worker(pool, db_url, mock, client, "w2", clock)
        await worker.drain(timeout=10)  # the lease has not ended: nothing taken over
        assert (await h.message(pool, "svc", created.id))["status"] == "sending"
        clock.advance(seconds=61)
        await worker.drain(timeout=10)
        calls = await _mass_calls(mock)
        assert [c["body"]["clientmsgid"] for c in calls] == [batch.client_msg_id] * 2
        assert calls[0]["verdict"] == "ok"
        row = await pool.fetchrow("SELECT * FROM mass_batches")
        assert row is not None
        assert (row["status"], row["takeovers"], row["leased_by"]) == ("sent", 1, None)
        assert row["wechat_msgid"] == str(first["msg_id"])
        assert [tuple(r) for r in await pool.fetch(USED)] == [(o, 1) for o in FOLLOWERS[:3]]
        assert (await h.message(pool, "svc", created.id))["status"] == "sent"


async def test_job_finish_counts_are_recorded_per_batch(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await _setup(pool, mock, sink, FOLLOWERS[:5])
        created, _ = await messages.enqueue_message(pool, "svc", _all(dt.datetime.now(dt.UTC)))
        await _worker(pool, db_url, mock, client, "w1").drain(timeout=10)
        batches = await pool.fetch(
            "SELECT seq, wechat_msgid, recipients FROM mass_batches ORDER BY seq"
        )
        assert [b["recipients"] for b in batches] == [3, 2]
        now = dt.datetime.now(dt.UTC)
        counts = {"TotalCount": 3, "FilterCount": 3, "SentCount": 3, "ErrorCount": 0}
        async with pool.acquire() as conn:
            changed = await job_finish.record_job_finish(
                conn, "svc", batches[0]["wechat_msgid"], "send success", counts, now=now
            )
        assert changed == 1
        row = await pool.fetchrow("SELECT * FROM mass_batches WHERE seq = 0")
        assert row is not None
        assert (row["status"], row["job_status"], row["total_count"], row["sent_count"]) == (
            "delivered",
            "send success",
            3,
            3,
        )
        got = await messages.get_message(pool, "svc", created.id)
        assert got.counts == {"delivered": 3, "sent": 2} and got.status == "delivered"
        async with pool.acquire() as conn:
            await job_finish.record_job_finish(
                conn, "svc", batches[1]["wechat_msgid"], "err(20013)", {"TotalCount": 2}, now=now
            )
        got = await messages.get_message(pool, "svc", created.id)
        assert got.counts == {"delivered": 3, "failed": 2} and got.status == "delivered"
        failed = await pool.fetchrow("SELECT * FROM mass_batches WHERE seq = 1")
        assert failed is not None
        assert (failed["status"], failed["errcode"], failed["total_count"]) == ("failed", 20013, 2)


async def test_cancel_before_and_after_the_expansion_gives_the_units_back(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    async with h.platform(aiohttp_server) as (mock, _client, sink):
        await _setup(pool, mock, sink, FOLLOWERS)
        later = now + dt.timedelta(hours=1)
        waiting, _ = await messages.enqueue_message(pool, "svc", _all(now, not_before=later))
        assert (waiting.status, waiting.counts) == ("held", {"held": 7})
        got = await messages.cancel_message(pool, "svc", waiting.id)
        assert (got.status, got.counts) == ("canceled", {"canceled": 7})
        expanded, _ = await messages.enqueue_message(pool, "svc", _all(now))
        async with pool.acquire() as conn:
            assert (await mass_expansion.expand_due(conn, dt.datetime.now(dt.UTC), SHANGHAI, 5))[
                0
            ] == 1
        assert {r["used"] for r in await pool.fetch(USED)} == {1}
        got = await messages.cancel_message(pool, "svc", expanded.id)
        assert (got.status, got.counts) == ("canceled", {"canceled": 7})
        assert {r["used"] for r in await pool.fetch(USED)} == {0}
        assert [e.status for e in got.history] == ["queued", "canceled"]
        assert await mock.sent("svc") == []


async def test_expiry_ends_unexpanded_and_queued_batches(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    now = dt.datetime.now(dt.UTC)
    async with h.platform(aiohttp_server) as (mock, _client, sink):
        await _setup(pool, mock, sink, FOLLOWERS)
        soon = now + dt.timedelta(minutes=5)
        never, _ = await messages.enqueue_message(
            pool, "svc", _all(now, not_before=now + dt.timedelta(minutes=1), expires_at=soon)
        )
        queued, _ = await messages.enqueue_message(pool, "svc", _all(now, expires_at=soon))
        async with pool.acquire() as conn:
            await mass_expansion.expand_due(conn, dt.datetime.now(dt.UTC), SHANGHAI, 5)
            assert await expiry.expire_overdue(conn, soon + dt.timedelta(seconds=1)) == 4
        for message_id in (never.id, queued.id):
            got = await messages.get_message(pool, "svc", message_id)
            assert (got.status, got.reason, got.counts) == (
                "expired",
                "expired",
                {"expired": 7},
            )
        assert {r["used"] for r in await pool.fetch(USED)} == {0}


async def _waiting_for_lock(pool: asyncpg.Pool, pid: int) -> None:
    for _ in range(500):
        state = await pool.fetchval(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
        )
        if state == "Lock":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the expansion never waited for the other transaction's unit row")


async def test_a_unit_row_added_during_the_expansion_is_waited_for_and_counted(
    pool: asyncpg.Pool,
) -> None:
    """Another transaction adds a follower's unit row for the month while the expansion runs
    (here: it takes that follower's last unit): the expansion's plain INSERT waits for it,
    fails on the key, and the upsert form takes every other unit once and skips that one."""
    now = dt.datetime.now(dt.UTC)
    await h.add_account(pool, "svc", "service")
    await h.add_followers(pool, "svc", FOLLOWERS[:4])
    created, _ = await messages.enqueue_message(pool, "svc", _all(now))
    async with pool.acquire() as other, pool.acquire() as conn:
        tx = other.transaction()
        await tx.start()
        await other.execute(
            "INSERT INTO follower_mass_usage (account_id, openid, period, used)"
            " VALUES ('svc', 'u2', $1, 4)",
            _month(now),
        )
        at = dt.datetime.now(dt.UTC)
        expanding = asyncio.create_task(mass_expansion.expand_due(conn, at, SHANGHAI, 1))
        await _waiting_for_lock(pool, conn.get_server_pid())
        await tx.commit()
        assert (await expanding)[0] == 1
    used = dict(tuple(r) for r in await pool.fetch(USED))
    assert used == {"u0": 1, "u1": 1, "u2": 4, "u3": 1}
    rows = await pool.fetch("SELECT openids FROM mass_batches")
    assert sorted(o for r in rows for o in r["openids"]) == ["u0", "u1", "u3"]
    got = await messages.get_message(pool, "svc", created.id)
    assert got.counts == {"queued": 3, "expired": 1} and got.recipients_total == 4
