"""Retention of webhook events and finished deliveries, and the webhook metrics: deliveries
by outcome, attempt latency, queue depth per endpoint (bounded), endpoints disabled."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiohttp
import asyncpg

from gateway import metrics
from gateway.store import webhook_log, webhooks
from tests.webhooks import hooks as h


def sample(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels or None)
    return 0.0 if value is None else value


async def test_retention_keeps_recent_rows(pool: asyncpg.Pool) -> None:
    await h.add_account(pool)
    await h.add_endpoint(pool, "https://hooks.example.com/x")
    async with pool.acquire() as conn:
        for _ in range(3):
            await webhooks.emit(conn, "acme", "payment.succeeded", "oA", {})
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    first = await pool.fetchval("SELECT min(id) FROM webhook_events")
    await pool.execute("UPDATE webhook_events SET created_at = $1 WHERE id = $2", old, first)
    await pool.execute(
        "UPDATE webhook_deliveries SET status = 'delivered', updated_at = $1"
        " WHERE event_id = $2 + 1",
        old,
        first,
    )
    async with pool.acquire() as conn:
        assert await webhook_log.purge_old(conn, old + dt.timedelta(days=1), batch=1) == 2
    assert await pool.fetchval("SELECT count(*) FROM webhook_events") == 2
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries") == 1


async def test_metrics(pool: asyncpg.Pool, db_url: str, aiohttp_server: Any) -> None:
    rec = h.Receiver()
    rec.fail_first = 1
    server = await aiohttp_server(rec.app())
    await h.add_account(pool)
    ep = await h.add_endpoint(pool, str(server.make_url("/hook")))
    other = await h.add_endpoint(pool, "http://127.0.0.1:9/closed")
    await webhooks.update_endpoint(pool, "acme", other.id, {"disabled": True})
    await h.store(pool, [h.record(1, "oA"), h.record(2, "oB")])
    name = "wxgate_webhook_deliveries_total"
    before = {o: sample(name, outcome=o) for o in ("delivered", "retrying", "failed")}
    latency = sample("wxgate_webhook_attempt_seconds_count")
    async with aiohttp.ClientSession() as session:
        at = h.clock()
        d = h.dispatcher(h.settings(db_url), pool, session, at)
        await d.drain()
        await d.update_gauges()
        depth = "wxgate_webhook_queue_depth"
        assert sample(depth, account_id="acme", endpoint_id=ep.id) == 2
        assert sample("wxgate_webhook_endpoints_disabled") == 1
        at.advance(seconds=7)
        await d.drain()
        await d.update_gauges()
    assert sample(name, outcome="retrying") - before["retrying"] == 2
    assert sample(name, outcome="delivered") - before["delivered"] == 2
    assert sample("wxgate_webhook_attempt_seconds_count") - latency == 4
    # Drained endpoints have no series left: the gauge holds the deepest pending ones only.
    assert (
        metrics.REGISTRY.get_sample_value(
            "wxgate_webhook_queue_depth", {"account_id": "acme", "endpoint_id": ep.id}
        )
        is None
    )
