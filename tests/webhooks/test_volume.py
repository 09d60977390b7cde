"""10,000 callbacks, two endpoints (one filtered): exactly the expected set of webhook-ids
arrives at each, each once, every delivery recorded delivered."""

from __future__ import annotations

import collections
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from gateway.domain import webhook_payload
from tests.webhooks import hooks as h

N = 10_000


@pytest.mark.slow
async def test_ten_thousand_callbacks_two_endpoints(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: Any
) -> None:
    arrived: dict[str, collections.Counter[str]] = {
        "all": collections.Counter(),
        "subs": collections.Counter(),
    }

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        arrived[request.match_info["name"]][request.headers["webhook-id"]] += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{name}", handle)
    server = await aiohttp_server(app)
    await h.add_account(pool)
    await h.add_endpoint(pool, str(server.make_url("/all")))
    await h.add_endpoint(pool, str(server.make_url("/subs")), ["event.subscribe"])
    records = [
        h.record(n, f"o{n % 2000}", "subscribe" if n % 5 == 0 else None) for n in range(1, N + 1)
    ]
    for start in range(0, N, 500):
        await h.store(pool, records[start : start + 500])
    ids = {
        r["dedupe_key"]: webhook_payload.event_id(True, r["id"])
        for r in await pool.fetch("SELECT id, dedupe_key FROM inbound_events")
    }
    want_all = set(ids.values())
    want_subs = {ids[r.dedupe_key] for r in records if r.event == "subscribe"}
    assert len(want_all) == N and len(want_subs) == N // 5
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        d = h.dispatcher(h.settings(db_url), pool, session, h.clock(), batch=500)
        assert await d.drain(timeout=110) == N + N // 5
    assert set(arrived["all"]) == want_all and set(arrived["subs"]) == want_subs
    assert set(arrived["all"].values()) == {1} and set(arrived["subs"].values()) == {1}
    statuses = await pool.fetch("SELECT status, count(*) FROM webhook_deliveries GROUP BY 1")
    assert {r["status"]: r["count"] for r in statuses} == {"delivered": N + N // 5}
