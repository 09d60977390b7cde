"""One clock: the worker decides by the database's clock, the one that stamps release times
at enqueue and wake-up; and a call that starts long after its claim decided it is decided
again on the state of then."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import asyncpg

from gateway.store import pool as pool_mod
from scheduler import ratelimit
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

CUSTOM = "/cgi-bin/message/custom/send"
SKEW = """
CREATE SCHEMA skew;
CREATE FUNCTION skew.now() RETURNS timestamptz LANGUAGE sql STABLE
    AS $$ SELECT pg_catalog.now() + interval '30 seconds' $$;
CREATE FUNCTION skew.clock_timestamp() RETURNS timestamptz LANGUAGE sql VOLATILE
    AS $$ SELECT pg_catalog.clock_timestamp() + interval '30 seconds' $$;
"""


async def test_the_worker_decides_by_the_database_clock(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """The database's clock runs 30 s ahead of this host's: a message it stamps due now is due
    for the worker too (by the host's clock it would wait 30 s)."""
    await pool.execute(SKEW)
    name = await pool.fetchval("SELECT current_database()")
    await pool.execute(f'ALTER DATABASE "{name}" SET search_path = skew, pg_catalog, public')
    skewed = await pool_mod.create(db_url, size=2)
    try:
        db_now = await skewed.fetchval("SELECT now()")
        assert db_now - dt.datetime.now(dt.UTC) > dt.timedelta(seconds=25)
        async with h.platform(aiohttp_server) as (mock, client, sink):
            await h.add_account(skewed, "svc", "service")
            await mock.register("svc", "service", sink)
            await mock.act("svc", "u1", "subscribe")
            await h.add_followers(
                skewed, "svc", ["u1"], window_ends_at=db_now + dt.timedelta(hours=40)
            )
            (message_id,) = await h.add_messages(
                skewed, "svc", "customer_service", [["u1"]], at=db_now
            )
            await skewed.execute("UPDATE deliveries SET release_at = now()")  # as enqueue does
            worker = worker_mod.Worker(
                h.settings(db_url, mock.base), skewed, client, worker_id="w1", options=h.FAST
            )
            await worker.drain(timeout=10)
            assert (await h.message(skewed, "svc", message_id))["status"] == "sent"
            assert worker.clock() - dt.datetime.now(dt.UTC) > dt.timedelta(seconds=25)
    finally:
        await skewed.close()


async def test_a_call_starting_long_after_its_decision_is_decided_again(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    t0 = clock()
    # One call every 2 s: the second call of the pass waits (in real time) for its token.
    opts = dataclasses.replace(
        h.FAST,
        limits=ratelimit.Limits(calls_per_second=0.5, burst=1, concurrency_per_account=1),
    )
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", ["u1", "u2"], "subscribe")
        await h.add_followers(pool, "svc", ["u1"], window_ends_at=t0 + dt.timedelta(hours=40))
        # Our view: u2's window closes 3 s after the claim.
        await h.add_followers(pool, "svc", ["u2"], window_ends_at=t0 + dt.timedelta(seconds=3))
        (first,) = await h.add_messages(
            pool, "svc", "customer_service", [["u1"]], at=t0 - dt.timedelta(seconds=1)
        )
        (second,) = await h.add_messages(pool, "svc", "customer_service", [["u2"]], at=t0)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=opts
        )

        async def time_passes() -> None:
            await mock.wait_sent("svc", 1, path=CUSTOM, within=10)
            clock.advance(seconds=10)  # while the second call waits for its turn

        passing = asyncio.create_task(time_passes())
        await worker.drain(timeout=30)
        await passing
        sent = [r["body"]["touser"] for r in await mock.sent("svc") if r["delivered"]]
        assert sent == ["u1"]
        assert (await h.message(pool, "svc", first))["status"] == "sent"
        row = await h.message(pool, "svc", second)
        assert (row["status"], row["reason"]) == ("held", "window_closed")
