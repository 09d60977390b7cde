"""A pass claims no more rows of an account than can start within the claim horizon, counting
the calls this worker already waits to make for it (another runner's pass): a row claimed
behind that queue would only wait past the decision age and be put back."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import Callable

import asyncpg

from scheduler import ratelimit
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h


async def _count(pool: asyncpg.Pool, status: str) -> int:
    n: int = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = $1", status)
    return n


async def _until(pool: asyncpg.Pool, status: str, check: Callable[[int], bool]) -> int:
    """Poll the rows of `status` until `check` holds for their count (bounded)."""
    deadline = time.monotonic() + 10
    while not check(n := await _count(pool, status)):
        assert time.monotonic() < deadline, f"{n} rows {status} after 10 s"
        await asyncio.sleep(0.01)
    return n


async def test_a_pass_claims_only_what_can_start_behind_the_calls_already_waiting(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    followers = [f"u{i}" for i in range(12)]
    # 1 call/s for 4 s: 4 rows a pass.
    opts = dataclasses.replace(
        h.FAST,
        limits=ratelimit.Limits(calls_per_second=1, burst=1, concurrency_per_account=32),
        claim_horizon=4.0,
    )
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await mock.act_many("svc", followers, "subscribe")
        await h.add_followers(
            pool, "svc", followers, window_ends_at=clock() + dt.timedelta(hours=40)
        )
        await h.add_messages(pool, "svc", "customer_service", [[o] for o in followers], at=clock())
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=opts
        )
        # The account's bucket never refills (its clock stands still): after the first call,
        # the others of a pass wait until the worker stops.
        bucket = ratelimit.TokenBucket(1, 1, clock=lambda: 0.0)
        worker.limiter.account("svc").calls = bucket
        first = asyncio.create_task(worker.run_pass())
        await _until(pool, "sent", lambda n: n == 1)
        assert await _count(pool, "sending") == 3  # the first pass's other calls wait
        second = asyncio.create_task(worker.run_pass())
        await _until(pool, "sending", lambda n: n > 3)  # the second pass has claimed
        worker.stopping.set()  # the waiting calls give up and are put back
        a, b = await asyncio.wait_for(asyncio.gather(first, second), 10)
        assert (a.claimed, b.claimed) == (4, 1)
        assert await h.delivery_statuses(pool, "svc") == {"sent": 1, "queued": 11}
