"""A delivery's attempts go with it, whichever statement deletes it (sql/0047: a trigger
per statement in place of the foreign key's check per attempt row): the endpoint's delete,
the retention of finished deliveries and of old events. Nothing else is deleted."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from gateway.store import webhook_log, webhooks
from tests.webhooks import hooks as h


@pytest.fixture
async def receiver(aiohttp_server: Any) -> AsyncIterator[str]:
    rec = h.Receiver()
    server = await aiohttp_server(rec.app())
    yield str(server.make_url("/hook"))
    rec.release.set()


async def _attempted(pool: asyncpg.Pool, db_url: str, n: int) -> None:
    """n callbacks stored and delivered once each to every endpoint (attempt rows written)."""
    await h.store(pool, [h.record(i, f"o{i}") for i in range(1, n + 1)])
    async with aiohttp.ClientSession() as session:
        d = h.dispatcher(h.settings(db_url), pool, session, h.clock())
        await d.drain()


async def _orphans(pool: asyncpg.Pool) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM webhook_attempts a WHERE NOT EXISTS (SELECT 1 FROM"
            " webhook_deliveries d WHERE d.account_id = a.account_id AND d.id = a.delivery_id)"
        )
    )


async def test_deleting_an_endpoint_deletes_its_deliveries_attempts_only(
    pool: asyncpg.Pool, db_url: str, receiver: str
) -> None:
    await h.add_account(pool)
    gone = await h.add_endpoint(pool, receiver)
    kept = await h.add_endpoint(pool, receiver)
    await _attempted(pool, db_url, 3)
    assert len(await h.attempts(pool)) == 6
    await webhooks.delete_endpoint(pool, "acme", gone.id)
    left = await pool.fetch(
        "SELECT d.endpoint_id FROM webhook_attempts a JOIN webhook_deliveries d"
        " ON d.account_id = a.account_id AND d.id = a.delivery_id"
    )
    assert [r["endpoint_id"] for r in left] == [kept.id] * 3
    assert await pool.fetchval("SELECT count(*) FROM webhook_attempts") == 3
    assert await _orphans(pool) == 0


async def test_retention_deletes_the_attempts_of_the_deliveries_it_deletes(
    pool: asyncpg.Pool, db_url: str, receiver: str
) -> None:
    await h.add_account(pool)
    await h.add_endpoint(pool, receiver)
    await _attempted(pool, db_url, 4)
    async with pool.acquire() as conn:  # a non-callback event, delivered too
        await webhooks.emit(conn, "acme", "payment.succeeded", "oP", {})
    async with aiohttp.ClientSession() as session:
        await h.dispatcher(h.settings(db_url), pool, session, h.clock()).drain()
    assert await pool.fetchval("SELECT count(*) FROM webhook_attempts") == 5
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    # two finished callback deliveries and the event are old; the rest recent
    await pool.execute(
        "UPDATE webhook_deliveries SET updated_at = $1"
        " WHERE id IN (SELECT id FROM webhook_deliveries WHERE inbound_key IS NOT NULL"
        " ORDER BY id LIMIT 2)",
        old,
    )
    await pool.execute("UPDATE webhook_events SET created_at = $1", old)
    async with pool.acquire() as conn:
        assert (
            await webhook_log.purge_old(conn, old + dt.timedelta(days=1), batch=1) == 3
        )  # the event (its delivery with it), two deliveries
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries") == 2
    assert await pool.fetchval("SELECT count(*) FROM webhook_attempts") == 2
    assert await _orphans(pool) == 0
