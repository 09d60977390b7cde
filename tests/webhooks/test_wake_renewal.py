"""A wake (the NOTIFY of every committed batch of callbacks) takes lanes and claims, but does
not rewrite the leases of the deliveries the worker holds: those are renewed every third of
the lease. (Renewing them on every wake made a statement per NOTIFY that updated every held
row and waited on the recorder's row locks, the dispatcher's loop stalled behind it.)"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from scheduler import webhook_loop
from tests.webhooks import hooks as h


async def _leases(pool: asyncpg.Pool) -> dict[int, dt.datetime]:
    rows = await pool.fetch(
        "SELECT id, lease_until FROM webhook_deliveries"
        " WHERE account_id = 'acme' AND leased_by IS NOT NULL"
    )
    return {r["id"]: r["lease_until"] for r in rows}


async def test_a_wake_takes_lanes_without_rewriting_the_held_leases(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: Any
) -> None:
    release = asyncio.Event()
    arrived: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        arrived.append(request.headers["webhook-id"])
        await release.wait()  # the requests stay in flight: their rows stay held
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app)
    url = str(server.make_url("/hook"))
    await h.add_account(pool)
    await h.add_endpoint(pool, url)
    await h.store(pool, [h.record(n, f"o{n}") for n in range(1, 6)])
    at = h.clock()
    async with aiohttp.ClientSession() as session:
        d = h.dispatcher(h.settings(db_url), pool, session, at)
        try:
            await webhook_loop._step(d, take=True)  # takes the lane, claims, starts 5
            first = await _leases(pool)
            assert len(first) == 5
            assert len(d.lanes) == 1

            # woken a second later (a new endpoint's delivery committed): the new lane is
            # taken, the held rows keep their leases
            await h.add_endpoint(pool, url)
            await h.store(pool, [h.record(6, "o6")])
            at.advance(seconds=1)
            await webhook_loop._step(d, take=True)
            assert len(d.lanes) == 2
            after_wake = await _leases(pool)
            assert {i: after_wake[i] for i in first} == first

            # once a third of the lease has passed, a step renews them
            at.advance(seconds=1)
            d._renew_at = 0.0
            await webhook_loop._step(d, take=False)
            renewed = await _leases(pool)
            until = at() + dt.timedelta(seconds=d.lease)
            assert all(renewed[i] == until for i in first), (renewed, until)
        finally:
            release.set()
            if d._tasks:
                await asyncio.wait(list(d._tasks), timeout=10)
            await d.flush()
    assert len(arrived) == 7  # the five, and the sixth callback's delivery to each endpoint
