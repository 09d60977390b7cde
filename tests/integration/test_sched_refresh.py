"""Recomputing a message's status from its deliveries: two workers finishing the last rows of
one message at once, and the throttle that spares a large message a full re-read per pass."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg

from gateway.store import message_status, queries
from tests.integration import sched_helpers as h


async def _set(conn: asyncpg.Connection | asyncpg.Pool, ids: list[int], status: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = $2,"
        " errcode = CASE WHEN $2 = 'sent' THEN 0 END,"
        " errmsg = CASE WHEN $2 = 'sent' THEN 'ok' END"
        " WHERE account_id = 'svc' AND id = ANY($1::bigint[])",
        ids,
        status,
    )


async def _message_with(pool: asyncpg.Pool, openids: list[str]) -> tuple[int, list[int]]:
    await h.add_account(pool, "svc", "service")
    now = dt.datetime.now(dt.UTC)
    [message_id] = await h.add_messages(pool, "svc", "mass", [openids], at=now)
    rows = await h.deliveries_of(pool, "svc", message_id)
    return message_id, [r["id"] for r in rows]


async def _waiting_for_lock(pool: asyncpg.Pool, pid: int) -> None:
    for _ in range(500):
        state = await pool.fetchval(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
        )
        if state == "Lock":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second refresh never waited for the first one's lock")


async def test_the_last_of_two_concurrent_finishers_sees_both(
    pool: asyncpg.Pool, db_url: str
) -> None:
    message_id, (first, second) = await _message_with(pool, ["o1", "o2"])
    await _set(pool, [first, second], "sending")
    key = [("svc", message_id)]
    a, b = await asyncpg.connect(db_url), await asyncpg.connect(db_url)
    try:
        tx_a, tx_b = a.transaction(), b.transaction()
        await tx_a.start()
        await tx_b.start()
        now = dt.datetime.now(dt.UTC)
        # Worker A finishes its row and recomputes (the other row is still sending) ...
        await _set(a, [first], "sent")
        first_pass = await message_status.refresh_messages(a, key, now)
        assert [r.status for r in first_pass] == ["sending"]
        # ... while worker B finishes the other row and must wait for A's lock.
        await _set(b, [second], "sent")
        late = asyncio.create_task(message_status.refresh_messages(b, key, now))
        await _waiting_for_lock(pool, b.get_server_pid())
        await tx_a.commit()
        await late
        await tx_b.commit()
    finally:
        await a.close()
        await b.close()
    # B's recompute read A's committed row: the message is finished, not stuck in sending.
    assert (await h.message(pool, "svc", message_id))["status"] == "sent"
    assert [r["status"] for r in await h.history(pool, "svc", message_id)] == [
        "sending",
        "sent",
    ]


async def test_a_large_message_is_recomputed_once_per_interval_and_when_done(
    pool: asyncpg.Pool,
) -> None:
    message_id, (d1, d2, d3) = await _message_with(pool, ["o1", "o2", "o3"])
    throttle = message_status.RefreshThrottle(min_rows=3, interval=3600)
    key = [("svc", message_id)]
    now = dt.datetime.now(dt.UTC)

    await _set(pool, [d1], "sending")
    async with pool.acquire() as conn:
        await message_status.refresh_messages(conn, key, now, throttle=throttle)
    assert (await h.message(pool, "svc", message_id))["status"] == "sending"

    # Within the interval, with rows still in flight: the recompute is put off.
    await _set(pool, [d1], "sent")
    await _set(pool, [d2], "sending")
    async with pool.acquire() as conn:
        assert await message_status.refresh_messages(conn, key, now, throttle=throttle) == []
    row = await h.message(pool, "svc", message_id)
    assert (row["status"], row["errcode"]) == ("sending", None)

    # Nothing left in flight: recomputed at once, interval or not.
    await _set(pool, [d2, d3], "sent")
    async with pool.acquire() as conn:
        transitions = await message_status.refresh_messages(conn, key, now, throttle=throttle)
    assert [t.status for t in transitions] == ["sent"]
    row = await h.message(pool, "svc", message_id)
    assert (row["status"], row["errcode"], row["errmsg"]) == ("sent", 0, "ok")


async def test_a_small_message_is_recomputed_every_time(pool: asyncpg.Pool) -> None:
    message_id, (d1, d2) = await _message_with(pool, ["o1", "o2"])
    throttle = message_status.RefreshThrottle(min_rows=3, interval=3600)
    key = [("svc", message_id)]
    now = dt.datetime.now(dt.UTC)
    await _set(pool, [d1], "sending")
    async with pool.acquire() as conn:
        await message_status.refresh_messages(conn, key, now, throttle=throttle)
    await _set(pool, [d1], "sent")
    await _set(pool, [d2], "sending")
    async with pool.acquire() as conn:
        await message_status.refresh_messages(conn, key, now, throttle=throttle)
    assert (await h.message(pool, "svc", message_id))["errcode"] == 0


def test_the_interval_grows_with_the_message() -> None:
    throttle = message_status.RefreshThrottle(min_rows=10, interval=0.0, rows_per_second=100)
    key = ("svc", 1)
    assert not throttle.recent(key, 100_000)  # never recomputed
    throttle.done([key])
    assert not throttle.recent(key, 0)  # the floor of 0 s: over
    assert throttle.recent(key, 100_000)  # 1,000 s: not yet


STATES = [
    ("queued", None, None, None),
    ("held", "window_closed", None, None),
    ("sending", None, None, None),
    ("sent", None, 0, "m-1"),
    ("delivered", None, 0, "m-2"),
    ("failed", "wechat_error", 40003, None),
    ("expired", "window_closed", None, None),
    ("canceled", None, None, None),
]
COLUMNS = "status, reason, release_at, attempts, wechat_msgid, errcode, errmsg"


async def test_one_delivery_recomputes_as_the_general_aggregate(pool: asyncpg.Pool) -> None:
    """The single-delivery statement gives what the general one gives, message and history."""
    await h.add_account(pool, "svc", "service")
    now = dt.datetime.now(dt.UTC)
    later = now + dt.timedelta(hours=1)
    for status, reason, errcode, msgid in STATES:
        [message_id] = await h.add_messages(pool, "svc", "customer_service", [["o1"]], at=now)
        await pool.execute(
            "UPDATE deliveries SET status = $2, reason = $3, errcode = $4, wechat_msgid = $5,"
            " errmsg = CASE WHEN $4::int IS NOT NULL THEN 'e' END, attempts = 2,"
            " release_at = $6, sent_at = $6 WHERE account_id = 'svc' AND message_id = $1",
            message_id,
            status,
            reason,
            errcode,
            msgid,
            later,
        )
        before = await pool.fetchrow(f"SELECT {COLUMNS} FROM messages WHERE id = $1", message_id)
        assert before is not None
        key = [("svc", message_id)]
        async with pool.acquire() as conn:
            fast = await message_status.refresh_messages(conn, key, now, {"by": "test"})
        single = await pool.fetchrow(f"SELECT {COLUMNS} FROM messages WHERE id = $1", message_id)
        assert single is not None
        single_history = await h.history(pool, "svc", message_id)
        # Back to before, then the general statement.
        await pool.execute(
            "UPDATE messages SET (status, reason, release_at, attempts, wechat_msgid, errcode,"
            " errmsg) = ($2, $3, $4, $5, $6, $7, $8) WHERE id = $1",
            message_id,
            *before.values(),
        )
        await pool.execute("DELETE FROM message_transitions WHERE message_id = $1", message_id)
        general = await pool.fetch(
            queries.get("refresh_message_status"), ["svc"], [message_id], now, {"by": "test"}
        )
        after = await pool.fetchrow(f"SELECT {COLUMNS} FROM messages WHERE id = $1", message_id)
        assert after is not None
        assert dict(single) == dict(after), status
        assert single_history == await h.history(pool, "svc", message_id), status
        assert [(t.status, t.reason) for t in fast] == [
            (t["status"], t["reason"]) for t in general
        ], status
