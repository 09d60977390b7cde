"""The dispatcher's statements on deliveries it names by key (the claim's lock, the lease
renewal, the record) read those rows through the primary key when the table's statistics
were taken while it was small: a burst that outgrew them is not read whole per statement or
per batch row because the planner expected one pending row (the nested loop over every
pending row, its cost the queue depth times the batch, grew with the backlog it made: the
latency benchmark's p50 went to seconds)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg

from gateway.store import pool as pool_mod
from gateway.store import queries, webhook_claims
from scheduler import webhook_start
from tests.webhooks import hooks as h

SMALL = 40  # rows when autovacuum's analyze saw the table (its threshold is 50 changes)
BURST = 3_000  # pending rows after the burst
BATCH = 256  # one record statement's outcomes at most (webhook_loop.FLUSH_AT and more)
READ = 4 * BATCH  # rows a join may discard, or a scan read, unplanned (the queue is BURST)


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("Plans", []):
        found.extend(_nodes(child))
    return found


def _check(name: str, plan: Any, rows: int) -> None:
    """No join throws away more than a few batches of rows, no scan of webhook_deliveries
    reads more than that per loop unless the planner knew it would (one loop, no more than
    4 times the rows it expected): the bad plans expected one pending row and met them all.
    The statement returned its `rows`."""
    root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    for node in _nodes(root):
        loops = node.get("Actual Loops", 1)
        removed = node.get("Rows Removed by Join Filter", 0) * loops
        assert removed <= READ, (name, node["Node Type"], "join filter", removed)
        if "Scan" in node["Node Type"] and "Relation Name" in node:
            read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
            if read > READ:
                expected = node["Plan Rows"]
                assert loops == 1, (name, node["Node Type"], "loops", loops, read)
                assert node["Actual Rows"] <= 4 * expected, (
                    name,
                    node["Node Type"],
                    read,
                    expected,
                )
    assert root["Actual Rows"] == rows, name


async def _explain(conn: pool_mod.Connection, name: str, *args: Any) -> Any:
    """EXPLAIN ANALYZE of a named query, its writes rolled back."""
    return await _explain_sql(conn, queries.get(name), *args)


async def _explain_sql(conn: pool_mod.Connection, sql: str, *args: Any) -> Any:
    tx = conn.transaction()
    await tx.start()
    try:
        return await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, *args)
    finally:
        await tx.rollback()


async def _small_queue(pool: asyncpg.Pool) -> None:
    """An account, its endpoint, and the queue autovacuum's analyze saw: SMALL rows."""
    await h.add_account(pool)
    await h.add_endpoint(pool, "http://127.0.0.1:9/hook")
    await h.store(pool, [h.record(n, f"o{n:06d}") for n in range(1, SMALL + 1)])


async def _burst(pool: asyncpg.Pool) -> None:
    records = [h.record(n, f"o{n % 1000:06d}") for n in range(SMALL + 1, SMALL + BURST + 1)]
    for i in range(0, BURST, 500):
        await h.store(pool, records[i : i + 500])


async def _lane(
    conn: pool_mod.Connection, now: dt.datetime, until: dt.datetime
) -> webhook_claims.Key:
    lanes = await webhook_claims.lanes(conn, now, until, worker_id="w1", mine=[], held=[], take=4)
    return (lanes[0].account_id, lanes[0].endpoint_id)


async def test_keyed_statements_probe_the_key_after_a_burst_outgrew_the_statistics(
    pool: asyncpg.Pool,
) -> None:
    await _small_queue(pool)
    await pool.execute("ANALYZE webhook_deliveries")
    await _burst(pool)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    until = now + dt.timedelta(seconds=60)
    async with pool.acquire() as conn:
        key = await _lane(conn, now, until)
        claimed = await webhook_claims.claim(
            conn, now, until, worker_id="w1", wants=[(*key, BATCH)]
        )
        assert len(claimed) == BATCH
        held = [c.held for c in claimed]
        # the next claim of the lane (its lock of the candidates)
        plan = await _explain(conn, "wh_claim", now, "w1", until, [key[0]], [key[1]], [200])
        _check("wh_claim", plan, 200)
        # the renewal of the lane and of every held delivery
        plan = await _explain(
            conn,
            "wh_lanes",
            now,
            "w1",
            until,
            [key[0]],
            [key[1]],
            [a for a, _ in held],
            [i for _, i in held],
            0,
            True,  # renewing: the lane and every held delivery
        )
        _check("wh_lanes", plan, 1)
        # the record of every held delivery's outcome
        outcomes = [
            webhook_claims.Outcome(a, i, True, 200, None, 1.0, "ok", now, None) for a, i in held
        ]
        plan = await _explain(
            conn,
            "wh_record",
            "w1",
            dt.timedelta(hours=1),
            *webhook_claims._outcome_columns(outcomes),
        )
        _check("wh_record", plan, BATCH)


def _literal(value: Any) -> str:
    """A SQL literal of a test value (timestamps, text, integers and arrays of them)."""
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(int(value))


async def test_a_claim_planned_while_the_queue_was_small_is_planned_again_after_a_burst(
    db_url: str, pool: asyncpg.Pool
) -> None:
    """A prepared statement gets a generic plan after five runs, made with what the planner
    then knew: a queue of a few rows. It kept that plan through a burst (until the next
    analyze): the latency benchmark's claim took 31-128 ms a call, its update joining every
    delivery of the endpoint and every callback of the account per claimed row. The
    dispatcher's connections (scheduler/webhook_start.open_pool) plan each run for the queue
    as it is."""
    dispatchers = await webhook_start.open_pool(db_url)
    try:
        await _small_queue(pool)
        await pool.execute("ANALYZE")
        now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        until = now + dt.timedelta(seconds=60)
        async with dispatchers.acquire() as conn:
            key = await _lane(conn, now, until)
            for _ in range(8):  # while the queue is small: the plan cache's five runs and more
                tx = conn.transaction()
                await tx.start()
                claimed = await webhook_claims.claim(
                    conn, now, until, worker_id="w1", wants=[(*key, 16)]
                )
                await tx.rollback()
                assert len(claimed) == 16
            await _burst(pool)
            name = await conn.fetchval(
                "SELECT name FROM pg_prepared_statements WHERE statement LIKE '-- The one claim%'"
            )
            args = [now, "w1", until, [key[0]], [key[1]], [200]]
            plan = await _explain_sql(
                conn, f'EXECUTE "{name}" ({", ".join(_literal(a) for a in args)})'
            )
        _check("wh_claim", plan, 200)
    finally:
        await dispatchers.close()
