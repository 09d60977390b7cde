"""The claim's cost per row stays small before the planner has statistics: a fresh queue
(never analyzed) is read through the indexes keyed for the claim (sql/0037), a few pages per
probe, not the endpoint's whole index per claimed row."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg

from gateway.store import queries, webhook_claims
from tests.webhooks import hooks as h

QUEUED = 10_000  # two events per follower: every claimed row's follower check finds work
PAGES_PER_PROBE = 20


def _scans(node: dict[str, Any]) -> list[dict[str, Any]]:
    scan = "Scan" in node["Node Type"] and node.get("Relation Name") == "webhook_deliveries"
    found = [node] if scan else []
    for child in node.get("Plans", []):
        found.extend(_scans(child))
    return found


async def test_a_claim_of_a_fresh_deep_queue_reads_a_few_pages_per_probe(
    pool: asyncpg.Pool,
) -> None:
    await h.add_account(pool)
    await h.add_endpoint(pool, "http://127.0.0.1:9/hook")
    records = [h.record(n, f"oFollower{n % (QUEUED // 2):06d}") for n in range(1, QUEUED + 1)]
    for i in range(0, QUEUED, 500):
        await h.store(pool, records[i : i + 500])
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    until = now + dt.timedelta(seconds=60)
    async with pool.acquire() as conn:
        lanes = await webhook_claims.lanes(
            conn, now, until, worker_id="w1", mine=[], held=[], take=4
        )
        assert len(lanes) == 1
        key = (lanes[0].account_id, lanes[0].endpoint_id)
        plan = await conn.fetchval(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + queries.get("wh_claim"),
            now,
            "w1",
            until,
            [key[0]],
            [key[1]],
            [200],
        )
    root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    assert root["Actual Rows"] == 200
    for scan in _scans(root):
        pages = scan["Shared Hit Blocks"] + scan["Shared Read Blocks"]
        per_loop = pages / max(1, scan["Actual Loops"])
        assert per_loop <= PAGES_PER_PROBE, (scan["Node Type"], scan.get("Index Name"), per_loop)
