"""Deleting an endpoint while callbacks are being stored leaves none of its deliveries behind
and loses none of the callbacks: no foreign key checks each delivery since 0033, the
endpoint row's locks do (FOR KEY SHARE by the writers, FOR UPDATE by the delete)."""

from __future__ import annotations

import asyncio

import asyncpg

from gateway.domain import window
from gateway.store import inbound, queries, webhooks
from gateway.store import pool as pool_mod
from tests.webhooks.test_outbox_sql import account, endpoint, rec  # noqa: F401


async def _waits_for_lock(pool: asyncpg.Pool, what: str) -> None:
    """Until a backend of this database (the task under way: `what`) waits for a lock."""
    for _ in range(500):
        waiting = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the {what} never waited for a lock")


async def _left(pool: asyncpg.Pool, endpoint_id: str) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE account_id = 'acme'"
            " AND endpoint_id = $1",
            endpoint_id,
        )
    )


async def test_a_delete_during_an_open_ingest_removes_what_it_wrote(
    pool: asyncpg.Pool, db_url: str
) -> None:
    doomed = await endpoint(pool, "acme", None)
    kept = await endpoint(pool, "acme", ["message.*"])
    writer = await asyncpg.connect(db_url)
    await pool_mod._init(writer)  # the pool's JSON codecs
    try:
        tx = writer.transaction()
        await tx.start()
        batch = [rec(n, f"o{n}", "text", None, window.RuleProfile.SEED) for n in range(1, 6)]
        await inbound.store_batch(writer, batch)  # the seed statement, not yet committed
        deleting = asyncio.create_task(webhooks.delete_endpoint(pool, "acme", doomed))
        await _waits_for_lock(pool, "delete")
        await tx.commit()
        await deleting
    finally:
        await writer.close()
    assert await _left(pool, doomed) == 0
    assert await _left(pool, kept) == 5
    assert await pool.fetchval("SELECT count(*) FROM inbound_events") == 5


async def test_an_ingest_during_an_open_delete_writes_nothing_for_it(
    pool: asyncpg.Pool, db_url: str
) -> None:
    doomed = await endpoint(pool, "acme", None)
    kept = await endpoint(pool, "acme", None)
    deleter = await asyncpg.connect(db_url)
    try:
        tx = deleter.transaction()
        await tx.start()
        await deleter.fetchrow(queries.get("wh_endpoint_lock"), "acme", doomed)
        await deleter.fetchrow(queries.get("wh_endpoint_delete"), "acme", doomed)
        batch = [rec(n, f"o{n}", "text", None, window.RuleProfile.SEED) for n in range(1, 4)]

        async def store() -> list[bool]:
            async with pool.acquire() as conn:
                return await inbound.store_batch(conn, batch)

        storing = asyncio.create_task(store())
        await _waits_for_lock(pool, "ingest")
        await tx.commit()
        assert await storing == [True, True, True]
    finally:
        await deleter.close()
    assert await _left(pool, doomed) == 0
    assert await _left(pool, kept) == 3
