"""Webhook deliveries: the delivery log, retry, replay, reading stored callbacks instead of
receiving them, and retention (the worker's claims: gateway/store/webhook_claims.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from gateway.store import pool, queries

Db = pool.Connection | asyncpg.Pool


async def list_deliveries(
    db: Db,
    account_id: str,
    endpoint_id: str,
    status: str | None,
    before: int | None,
    limit: int,
    attempts: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first, below `before`, each with its latest `attempts` attempts (None: all)
    oldest first in `log`. The API's list and the console's page read this."""
    # A custom plan, so a status filter uses its index.
    rows = await pool.fetch_planned(
        db,
        queries.get("wh_deliveries_list"),
        account_id,
        endpoint_id,
        status,
        before,
        limit,
        attempts,
    )
    return [{**dict(r), "log": _log(r["log"])} for r in rows]


def _log(value: Any) -> list[dict[str, Any]]:
    items = json.loads(value) if isinstance(value, str) else value
    for item in items:
        item["at"] = dt.datetime.fromisoformat(item["at"])
    return list(items)


async def retry(
    db: Db, account_id: str, endpoint_id: str, delivery_id: int
) -> dict[str, Any] | None:
    """Make one delivery due now (whatever its status); None if there is no such delivery."""
    row = await db.fetchrow(queries.get("wh_delivery_retry"), account_id, endpoint_id, delivery_id)
    if row is not None:
        await db.execute(queries.get("wh_notify"))
    return None if row is None else dict(row)


async def replay(
    db: Db,
    account_id: str,
    endpoint_id: str,
    since: dt.datetime,
    until: dt.datetime,
    event_types: Sequence[str] | None,
) -> int:
    """Queue the stored events of [since, until) again for one endpoint, original ids kept."""
    count = await db.fetchval(
        queries.get("wh_replay"),
        account_id,
        endpoint_id,
        since,
        until,
        None if event_types is None else list(event_types),
    )
    return int(count or 0)


async def list_inbound(
    db: Db,
    account_id: str,
    *,
    openid: str | None,
    event_type: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    after: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    rows = await db.fetch(
        queries.get("wh_inbound_list"), account_id, openid, event_type, since, until, after, limit
    )
    return [dict(r) for r in rows]


async def purge_old(conn: pool.Connection, before: dt.datetime, batch: int = 5000) -> int:
    """Retention, in batches: non-callback events stored before `before` (callbacks have
    their own), and finished deliveries last changed before it. Returns rows deleted."""
    total = 0
    for query in ("wh_purge_events", "wh_purge_deliveries"):
        while True:
            status = await conn.execute(queries.get(query), before, batch)
            count = int(status.split()[-1])
            total += count
            if count < batch:
                break
    return total
