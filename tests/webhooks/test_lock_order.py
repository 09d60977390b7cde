"""The dispatcher's statements lock deliveries before endpoints. The recorder (wh_record)
locks its deliveries, then writes the endpoint's failure streak; the lane renewal
(wh_lanes) locked the endpoint's lane first, then the held deliveries; so a renewal during a
record that began a failure streak deadlocked (Postgres aborted one after a second: lanes not
renewed, or outcomes written a pass later). So did giving lanes back (wh_lanes_release)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gateway.store import pool as pool_mod
from gateway.store import webhook_claims
from tests.webhooks import hooks as h


async def _waiting_on_a_lock(pool: asyncpg.Pool, pid: int) -> None:
    """Until the backend `pid` waits for a lock (polling the database's own view)."""
    query = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1"
    async with asyncio.timeout(10):
        while await pool.fetchval(query, pid) != "Lock":  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def _during_a_record(
    pool: asyncpg.Pool,
    db_url: str,
    step: Awaitable[object],
    conn: pool_mod.Connection,
    held: tuple[str, int],
) -> None:
    """`step` (a statement on `conn`) runs while another transaction holds the delivery
    `held` as the record does, and then writes the endpoint's failure streak."""
    recorder = await asyncpg.connect(db_url)
    try:
        tx = recorder.transaction()
        await tx.start()
        await recorder.execute(
            "SELECT 1 FROM webhook_deliveries WHERE account_id = $1 AND id = $2 FOR NO KEY UPDATE",
            *held,
        )
        task = asyncio.ensure_future(step)
        await _waiting_on_a_lock(pool, conn.get_server_pid())
        # the record's streak: before the fix this waited on the lane the step had locked
        await recorder.execute(
            "SET LOCAL lock_timeout = '5s'; UPDATE webhook_endpoints SET failing_since = now()"
        )
        await tx.commit()
        await asyncio.wait_for(task, 10)
    finally:
        await recorder.close()


async def _held_lane(
    pool: asyncpg.Pool,
) -> tuple[PoolConnectionProxy, webhook_claims.Key, tuple[str, int], dt.datetime]:
    await h.add_account(pool)
    await h.add_endpoint(pool, "http://127.0.0.1:9/hook")
    await h.store(pool, [h.record(1, "oA")])
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    conn = await pool.acquire()
    lanes = await webhook_claims.lanes(
        conn, now, now + dt.timedelta(seconds=60), worker_id="w1", mine=[], held=[], take=4
    )
    key = (lanes[0].account_id, lanes[0].endpoint_id)
    (row,) = await webhook_claims.claim(
        conn, now, now + dt.timedelta(seconds=60), worker_id="w1", wants=[(*key, 10)]
    )
    return conn, key, row.held, now


async def test_a_lane_renewal_during_a_record_waits_for_it_without_a_deadlock(
    pool: asyncpg.Pool, db_url: str
) -> None:
    conn, key, held, now = await _held_lane(pool)
    try:
        until = now + dt.timedelta(seconds=90)
        renewal = webhook_claims.lanes(
            conn, now, until, worker_id="w1", mine=[key], held=[held], take=0
        )
        await _during_a_record(pool, db_url, renewal, conn, held)
        assert await pool.fetchval("SELECT lane_until FROM webhook_endpoints") == until
        assert await pool.fetchval("SELECT lease_until FROM webhook_deliveries") == until
    finally:
        await pool.release(conn)


async def test_giving_a_lane_back_during_a_record_waits_for_it_without_a_deadlock(
    pool: asyncpg.Pool, db_url: str
) -> None:
    conn, key, held, now = await _held_lane(pool)
    try:
        release = webhook_claims.release_lanes(conn, "w1", now, [key], [held], 1.2)
        await _during_a_record(pool, db_url, release, conn, held)
        assert await pool.fetchval("SELECT lane_owner FROM webhook_endpoints") is None
        assert await pool.fetchval("SELECT leased_by FROM webhook_deliveries") is None
    finally:
        await pool.release(conn)
