"""An endpoint's `rate_limit` holds across workers: two dispatchers on one database never
send it more than `rate_limit` requests in any one-second window (arrival times taken with
time.monotonic() at the receiver)."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from scheduler import webhook_start
from tests.webhooks import hooks as h

RATE = 5
COUNT = 40
Timed = tuple[list[float], set[str], asyncio.Event, str]


@pytest.fixture(autouse=True)
async def account(pool: asyncpg.Pool) -> None:
    await h.add_account(pool)


def busiest_second(times: list[float]) -> int:
    """The most arrivals in any half-open window [t, t + 1 s), t an arrival."""
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered))


@pytest.fixture
async def timed(aiohttp_server: Any) -> AsyncIterator[Timed]:
    times: list[float] = []
    ids: set[str] = set()
    done = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        times.append(time.monotonic())
        await request.read()
        ids.add(request.headers["webhook-id"])
        if len(ids) >= COUNT:
            done.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app)
    yield times, ids, done, str(server.make_url("/hook"))


async def test_two_workers_together_keep_the_endpoints_rate_limit(
    pool: asyncpg.Pool, db_url: str, timed: Any
) -> None:
    times, ids, done, url = timed
    ep = await h.add_endpoint(pool, url)
    await pool.execute("UPDATE webhook_endpoints SET rate_limit = $2 WHERE id = $1", ep.id, RATE)
    await h.store(pool, [h.record(n, f"o{n}") for n in range(COUNT)])
    cfg = h.settings(db_url)
    handles = [
        await webhook_start.start(cfg, pool, worker_id=f"w{i}", max_in_flight=64) for i in (1, 2)
    ]
    try:
        await asyncio.wait_for(done.wait(), timeout=60)  # every id arrived (bounded)
    finally:
        for handle in handles:
            await handle.stop()
    assert len(ids) == COUNT
    assert busiest_second(times) <= RATE, sorted(t - times[0] for t in times)
    delivered = await pool.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"
    )
    assert delivered == COUNT
