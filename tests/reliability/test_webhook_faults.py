"""Webhook delivery by `python -m scheduler` processes under faults: a worker SIGKILLed in
the middle of a burst, and Postgres stopped and started again during one. Every stored event
arrives at least once at every matching endpoint, with one webhook-id per event, and every
delivery ends `delivered`."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from gateway.domain import webhook_payload
from gateway.store import embedded, migrate
from gateway.store import pool as pool_mod
from scheduler.webhook_lanes import UNRECORDED
from tests import pg
from tests.reliability import stack
from tests.webhooks import hooks as h

pytestmark = pg.OWN_SERVER  # see tests/pg.py

WEBHOOK_ENV = {
    "WXGATE_WEBHOOK_ALLOW_PRIVATE": "true",
    "WXGATE_WEBHOOK_TIMEOUT": "1",  # lease: 2 x 1 + 5 = 7 s
    "WXGATE_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1,1,1,1,1,1",
}


class Sink:
    """Two endpoints on one server; each answers after a short delay so requests are in
    flight when the fault strikes."""

    def __init__(self) -> None:
        self.arrived: dict[str, collections.Counter[str]] = {
            "all": collections.Counter(),
            "subs": collections.Counter(),
        }

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(0.05)  # the receiver's own work
        self.arrived[request.match_info["name"]][request.headers["webhook-id"]] += 1
        return web.Response(text="ok")

    def total(self) -> int:
        return sum(len(c) for c in self.arrived.values())


@pytest.fixture
async def sink(aiohttp_server: Any) -> AsyncIterator[tuple[Sink, str]]:
    s = Sink()
    app = web.Application()
    app.router.add_post("/{name}", s.handle)
    server = await aiohttp_server(app)
    yield s, str(server.make_url("/"))


async def _setup(pool: asyncpg.Pool, base: str) -> None:
    await h.add_account(pool)
    await h.add_endpoint(pool, base + "all")
    await h.add_endpoint(pool, base + "subs", ["event.subscribe"])


def _records(first: int, count: int) -> list[Any]:
    return [
        h.record(n, f"o{n % 300}", "subscribe" if n % 4 == 0 else None)
        for n in range(first, first + count)
    ]


async def _expected(pool: asyncpg.Pool) -> tuple[set[str], set[str]]:
    rows = await pool.fetch("SELECT id, event FROM inbound_events")
    every = {webhook_payload.event_id(True, r["id"]) for r in rows}
    subs = {webhook_payload.event_id(True, r["id"]) for r in rows if r["event"] == "subscribe"}
    return every, subs


async def _all_delivered(pool: asyncpg.Pool, sink: Sink, within: float) -> None:
    every, subs = await _expected(pool)

    async def done() -> bool:
        pending = await pool.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
        )
        return (
            pending == 0 and set(sink.arrived["all"]) == every and set(sink.arrived["subs"]) == subs
        )

    await stack.until(done, "every webhook delivered", within)


@pytest.mark.slow
async def test_a_worker_killed_during_a_burst(
    pool: asyncpg.Pool, db_url: str, sink: tuple[Sink, str], tmp_path: Path
) -> None:
    s, base = sink
    await _setup(pool, base)
    await h.store(pool, _records(1, 1500))
    log = tmp_path / "worker.log"
    first = await stack.start_worker(db_url, "http://127.0.0.1:9", log, **WEBHOOK_ENV)
    try:
        await stack.until(lambda: _at_least(s, 200), "the burst under way", 30)
        await stack.kill(first)  # SIGKILL: leases left behind, requests cut off
        assert first.returncode == -9
        await h.store(pool, _records(1501, 500))
        leased = await pool.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE lease_until IS NOT NULL"
        )
        second = await stack.start_worker(db_url, "http://127.0.0.1:9", log, **WEBHOOK_ENV)
        try:
            await _all_delivered(pool, s, 90)
        finally:
            assert await stack.stop(second) == 0
    finally:
        await stack.kill(first)
    assert leased > 0  # the kill did leave work in flight, taken over after the lease
    # At least once: a repeat is a request the dead worker made but could not record.
    repeats = sum(c - 1 for counter in s.arrived.values() for c in counter.values())
    assert repeats <= UNRECORDED * 2  # requests made and not yet recorded, per endpoint


async def _at_least(s: Sink, n: int) -> bool:
    return s.total() >= n


# This hung in 3 of 5 runs beside the parallel suite (the worker's log went quiet after its
# reconnect errors): asyncpg's InternalClientError from a connection the restart broke is
# neither a PostgresError nor an InterfaceError, and it ended the dispatcher's recorder (or
# lost its batch). tests/webhooks/test_lanes.py reproduces that error on its own.
@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_postgres_restarted_during_a_burst(sink: tuple[Sink, str], tmp_path: Path) -> None:
    s, base = sink
    pg = embedded.EmbeddedPostgres(tmp_path / "pg")
    url = await asyncio.to_thread(pg.start)
    worker = None
    try:
        await migrate.migrate_url(url, stack.ROOT / "sql")
        pool = await pool_mod.create(url, size=2)
        try:
            await _setup(pool, base)
            await h.store(pool, _records(1, 1500))
        finally:
            await pool.close()
        worker = await stack.start_worker(
            url, "http://127.0.0.1:9", tmp_path / "worker.log", **WEBHOOK_ENV
        )
        await stack.until(lambda: _at_least(s, 200), "the burst under way", 30)
        await asyncio.to_thread(pg.stop)
        await asyncio.sleep(3.0)
        await asyncio.to_thread(pg.start)
        pool = await pool_mod.create(url, size=2)
        try:
            await h.store(pool, _records(1501, 500))
            await _all_delivered(pool, s, 240)
            assert worker.returncode is None  # it rode out the outage on its own
        finally:
            await pool.close()
        assert await stack.stop(worker) == 0
    finally:
        if worker is not None:
            await stack.kill(worker)
        await asyncio.to_thread(pg.stop)
    assert all(c >= 1 for counter in s.arrived.values() for c in counter.values())
