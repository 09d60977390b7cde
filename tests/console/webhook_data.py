"""Console test data for the webhook and sync pages: an endpoint of the seeded account whose
deliveries come from the API's replay store function, attempts written as the worker's
recorder writes them (a 500 with a hostile answer), and follower syncs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from gateway.store import syncs, webhook_log, webhooks

HOSTILE_ANSWER = "<script>alert('answer')</script>" + "x" * 3000


async def endpoint(
    pool: asyncpg.Pool, account_id: str, url: str, **extra: Any
) -> webhooks.Endpoint:
    values: dict[str, Any] = {
        "description": None,
        "event_types": None,
        "disabled": False,
        "rate_limit": None,
        **extra,
    }
    return await webhooks.create_endpoint(pool, account_id, url=url, **values)


async def failing_endpoint(pool: asyncpg.Pool, account_id: str = "acme") -> webhooks.Endpoint:
    """An endpoint with the account's three stored callbacks queued (through replay), each
    attempted once with a 500 and a long hostile answer, failing since then."""
    ep = await endpoint(pool, account_id, "https://hooks.example/in?a=<b>", event_types=None)
    now = dt.datetime.now(dt.UTC)
    count = await webhook_log.replay(
        pool, account_id, ep.id, now - dt.timedelta(hours=1), now + dt.timedelta(seconds=1), None
    )
    assert count == 3
    await pool.execute(
        "INSERT INTO webhook_attempts (account_id, delivery_id, at, http_status, error,"
        " latency_ms, response) SELECT account_id, id, now(), 500, NULL, 12.5, $3"
        " FROM webhook_deliveries WHERE account_id = $1 AND endpoint_id = $2",
        account_id,
        ep.id,
        HOSTILE_ANSWER[:1024],
    )
    await pool.execute(
        "UPDATE webhook_deliveries SET attempts = 1, status = 'failed'"
        " WHERE account_id = $1 AND endpoint_id = $2",
        account_id,
        ep.id,
    )
    await pool.execute(
        "UPDATE webhook_endpoints SET failing_since = now() - interval '2 hours',"
        " disabled = true, disabled_reason = $3 WHERE account_id = $1 AND id = $2",
        account_id,
        ep.id,
        "failing since 2 hours <i>",
    )
    return ep


async def deliveries(pool: asyncpg.Pool, account_id: str, endpoint_id: str) -> list[Any]:
    return list(
        await pool.fetch(
            "SELECT id, status, attempts, next_attempt_at FROM webhook_deliveries"
            " WHERE account_id = $1 AND endpoint_id = $2 ORDER BY id",
            account_id,
            endpoint_id,
        )
    )


async def finished_sync(pool: asyncpg.Pool, account_id: str, error: str | None) -> int:
    """A sync as the worker leaves it: failed with `error`, or completed."""
    row = await syncs.start(pool, account_id)
    await pool.execute(
        "UPDATE follower_syncs SET status = $3, error = $4, pages = 3, followers_seen = 25000,"
        " total = 25000, finished_at = now() WHERE account_id = $1 AND id = $2",
        account_id,
        row.id,
        "failed" if error else "completed",
        error,
    )
    return int(row.id)
