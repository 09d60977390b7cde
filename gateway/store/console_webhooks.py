"""What the console reads about webhooks and follower syncs: endpoints, an endpoint's
deliveries with their latest attempts, the deliveries of stored callbacks, attempts per
minute, and the syncs of an account; every query index-backed and LIMITed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from gateway.store import pool as pool_mod
from gateway.store import queries

Db = pool_mod.Connection | asyncpg.Pool
# Attempts shown per delivery (the newest), deliveries per callback on the event log.
ATTEMPTS = 10
PER_EVENT = 10


async def list_endpoints(
    db: Db, account_id: str, after: str | None, limit: int
) -> list[dict[str, Any]]:
    rows = await db.fetch(queries.get("console_endpoint_list"), account_id, after, limit)
    return [dict(r) for r in rows]


async def failing_endpoints(db: Db, account_id: str, cap: int) -> int:
    """Endpoints whose every attempt failed since some time (at most `cap`)."""
    return int(await db.fetchval(queries.get("console_endpoints_failing"), account_id, cap) or 0)


def _log(value: Any) -> list[dict[str, Any]]:
    items = json.loads(value) if isinstance(value, str) else value
    for item in items:
        item["at"] = dt.datetime.fromisoformat(item["at"])
    return list(items)


async def list_deliveries(
    db: Db,
    account_id: str,
    endpoint_id: str,
    status: str | None,
    before: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first, below `before`, each with its latest ATTEMPTS attempts (`log`)."""
    # A custom plan, so a status filter uses its index (as the event log does).
    rows = await pool_mod.fetch_planned(
        db,
        queries.get("console_delivery_list"),
        account_id,
        endpoint_id,
        status,
        before,
        limit,
        ATTEMPTS,
    )
    return [{**dict(r), "log": _log(r["log"])} for r in rows]


async def inbound_deliveries(
    db: Db, account_id: str, keys: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """{dedupe key: its deliveries (at most PER_EVENT, newest first)}."""
    rows = await db.fetch(
        queries.get("console_inbound_deliveries"), account_id, list(keys), PER_EVENT
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["inbound_key"], []).append(dict(r))
    return out


async def attempts_per_minute(
    db: Db, account_id: str, since: dt.datetime
) -> dict[dt.datetime, int]:
    rows = await db.fetch(queries.get("console_webhook_attempts_per_minute"), account_id, since)
    return {r["minute"]: int(r["n"]) for r in rows}


async def list_syncs(
    db: Db, account_id: str, before: int | None, limit: int
) -> list[dict[str, Any]]:
    rows = await db.fetch(queries.get("console_sync_list"), account_id, before, limit)
    return [dict(r) for r in rows]
