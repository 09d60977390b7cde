"""A follower sync whose worker process is killed with SIGKILL mid-sync and started again:
the new worker resumes from the last committed page once the lease has run out, and no
follower is lost or counted twice (SPEC 9)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from gateway.store import syncs
from tests.integration import sched_helpers as h
from tests.reliability import stack

COUNT = 80_000  # eight pages
FLAGS = ("--lease-seconds=2", "--tick-seconds=0.2")


async def _sync(pool: asyncpg.Pool, sync_id: int) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT status, pages, followers_seen, leased_by FROM follower_syncs WHERE id = $1",
        sync_id,
    )
    assert row is not None
    return row


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_killed_sync_resumes_without_loss_or_doubles(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory, tmp_path: Path
) -> None:
    async with h.platform(aiohttp_server) as (mock, _client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        path = f"/_mock/accounts/{h.app_id('svc')}/followers/seed"
        await mock._json("POST", path, {"count": COUNT, "prefix": "oZ"})
        started = await syncs.start(pool, "svc")
        log = tmp_path / "worker.log"
        worker = await stack.start_worker(db_url, mock.base, log, *FLAGS)
        try:

            async def two_pages() -> bool:
                return int((await _sync(pool, started.id))["pages"]) >= 2

            await stack.until(two_pages, "two pages committed", 60)
            await stack.kill(worker)
            at_kill = await _sync(pool, started.id)
            assert at_kill["status"] == "running" and at_kill["pages"] < COUNT // 10_000
            first_holder = at_kill["leased_by"]
            worker = await stack.start_worker(db_url, mock.base, log, *FLAGS)

            async def finished() -> bool:
                status: str = (await _sync(pool, started.id))["status"]
                return status != "running"

            await stack.until(finished, "the sync finished", 90)
            assert await stack.stop(worker, within=10) == 0
        finally:
            await stack.kill(worker)
        done = await pool.fetchrow("SELECT * FROM follower_syncs WHERE id = $1", started.id)
        assert done is not None
        assert done["status"] == "completed", done["error"]
        # every page counted once: a page is committed with its cursor, or not at all
        assert (done["pages"], done["followers_seen"]) == (COUNT // 10_000, COUNT)
        rows = await pool.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT openid) AS distinct_n,"
            " count(*) FILTER (WHERE subscribed AND synced_at >= $1) AS synced FROM followers",
            started.started_at,
        )
        assert rows is not None
        assert (rows["n"], rows["distinct_n"], rows["synced"]) == (COUNT, COUNT, COUNT)
        assert done["leased_by"] is None and first_holder is not None
        # the second worker resumed: the first page was listed once, not again from the start
        listings = [r for r in await mock.sent("svc") if r["path"] == "/cgi-bin/user/get"]
        # Eight pages and the empty end, plus at most two listed again: the page that was
        # being committed at the kill and the one fetched ahead of it.
        assert len(listings) <= COUNT // 10_000 + 3
