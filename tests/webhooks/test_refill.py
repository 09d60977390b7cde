"""Recording outcomes claims their endpoint's replacements in the same statement: a deep
queue to one endpoint keeps at most 16 requests in flight (two workers together), every
delivery arrives, and the recording statement did claim rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from gateway.store import webhook_log
from scheduler import webhook_start
from scheduler import webhooks as dispatch
from tests.webhooks import hooks as h

COUNT = 300


@pytest.fixture(autouse=True)
async def account(pool: asyncpg.Pool) -> None:
    await h.add_account(pool)


class Concurrency:
    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.ids: set[str] = set()
        self.done = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await request.read()
            await asyncio.sleep(0.02)  # the receiver's own latency, so requests overlap
            self.ids.add(request.headers["webhook-id"])
            if len(self.ids) >= COUNT:
                self.done.set()
            return web.Response(text="ok")
        finally:
            self.now -= 1


@pytest.fixture
async def receiver(aiohttp_server: Any) -> AsyncIterator[tuple[Concurrency, str]]:
    rec = Concurrency()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    server = await aiohttp_server(app)
    yield rec, str(server.make_url("/hook"))


async def test_refilled_by_the_recording_statement_within_the_cap(
    pool: asyncpg.Pool, db_url: str, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, url = receiver
    await h.add_endpoint(pool, url)
    await h.store(pool, [h.record(n, f"o{n}") for n in range(COUNT)])
    refilled = []
    flush = dispatch.Dispatcher.flush

    async def counting(self: dispatch.Dispatcher) -> int:
        recorded = await flush(self)
        refilled.append(self.refilled)
        return recorded

    monkeypatch.setattr(dispatch.Dispatcher, "flush", counting)
    cfg = h.settings(db_url)
    handles = [
        await webhook_start.start(cfg, pool, worker_id=f"w{i}", max_in_flight=64) for i in (1, 2)
    ]
    try:
        await asyncio.wait_for(rec.done.wait(), timeout=90)  # every id arrived (bounded)
    finally:
        for handle in handles:
            await handle.stop()
    assert len(rec.ids) == COUNT
    assert rec.most <= dispatch.PER_ENDPOINT
    assert sum(refilled) > 0
    delivered = await pool.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered' AND attempts = 1"
    )
    assert delivered == COUNT


async def test_a_stop_during_a_recording_statement_still_records_its_outcomes(
    pool: asyncpg.Pool, db_url: str, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clean stop while outcomes are being written waits for that statement: requests
    that were made are recorded, not left leased to be sent again after the lease."""
    rec, url = receiver
    await h.add_endpoint(pool, url)
    await h.store(pool, [h.record(n, f"o{n}") for n in range(5)])
    writing, go_on = asyncio.Event(), asyncio.Event()
    record_and_claim = webhook_log.record_and_claim

    async def slow(*args: Any, **kwargs: Any) -> Any:
        writing.set()
        await go_on.wait()  # the statement is under way when the stop comes
        return await record_and_claim(*args, **kwargs)

    monkeypatch.setattr(webhook_log, "record_and_claim", slow)  # the dispatcher's module
    handle = await webhook_start.start(h.settings(db_url), pool, worker_id="w1")
    await asyncio.wait_for(writing.wait(), timeout=30)
    stopping = asyncio.create_task(handle.stop())
    await asyncio.sleep(0.2)  # the stop has reached the dispatcher's shutdown
    go_on.set()
    await asyncio.wait_for(stopping, timeout=30)
    attempted = await pool.fetchval("SELECT count(*) FROM webhook_deliveries WHERE attempts > 0")
    leased = await pool.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE leased_by IS NOT NULL"
    )
    assert attempted >= 1 and leased == 0
    assert len(rec.ids) >= attempted
