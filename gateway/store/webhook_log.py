"""Webhook deliveries: the worker's claim and results, the delivery log, retry, replay, and
reading stored callbacks instead of receiving them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from gateway.store import pool, queries

Db = pool.Connection | asyncpg.Pool


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One attempt's result. `next_at` None with `ok` False: the delivery has failed."""

    account_id: str
    delivery_id: int
    ok: bool
    http_status: int | None
    error: str | None
    latency_ms: float
    response: str | None
    at: dt.datetime
    next_at: dt.datetime | None


Key = tuple[str, str]  # (account_id, endpoint_id): a lane
Held = tuple[str, int]  # (account_id, delivery id)


def _columns(pairs: Sequence[tuple[Any, Any]]) -> list[list[Any]]:
    return [[p[0] for p in pairs], [p[1] for p in pairs]]


async def lanes(
    conn: pool.Connection,
    now: dt.datetime,
    until: dt.datetime,
    *,
    worker_id: str,
    mine: Sequence[Key],
    held: Sequence[Held],
    take: int,
) -> list[asyncpg.Record]:
    """Renew until `until` the lanes `mine` and the leases of the deliveries `held`, and take
    up to `take` free lanes with due work (SKIP LOCKED). Returns every lane held after it
    (account_id, id, rate_limit): one of `mine` missing is lost."""
    return list(
        await conn.fetch(
            queries.get("wh_lanes"),
            now,
            worker_id,
            until,
            *_columns(mine),
            *_columns(held),
            take,
        )
    )


async def claim(
    conn: pool.Connection,
    now: dt.datetime,
    until: dt.datetime,
    *,
    worker_id: str,
    wants: Sequence[tuple[str, str, int]],
) -> list[asyncpg.Record]:
    """Lease until `until` up to n due deliveries of each held lane (account, endpoint, n),
    with what their requests need; see wh_claim for the follower-order rule."""
    return list(
        await conn.fetch(
            queries.get("wh_claim"),
            now,
            worker_id,
            until,
            [w[0] for w in wants],
            [w[1] for w in wants],
            [w[2] for w in wants],
        )
    )


async def release_lanes(
    conn: pool.Connection,
    worker_id: str,
    now: dt.datetime,
    lanes_: Sequence[Key],
    unsent: Sequence[Held],
    rate_window: float,
) -> None:
    """Give back idle lanes and claimed deliveries that were not sent."""
    await conn.execute(
        queries.get("wh_lanes_release"),
        worker_id,
        now,
        *_columns(lanes_),
        *_columns(unsent),
        rate_window,
    )


async def record(
    conn: pool.Connection,
    worker_id: str,
    outcomes: Sequence[Outcome],
    disable_after: dt.timedelta,
) -> tuple[dict[tuple[str, int], str], list[tuple[str, str]]]:
    """Write attempts and outcomes in one statement. Returns the new status of each delivery
    recorded (rows taken over by another worker are absent) and the endpoints disabled."""
    rows = await conn.fetch(
        queries.get("wh_record"), worker_id, disable_after, *_outcome_columns(outcomes)
    )
    statuses = {(r["account_id"], r["id"]): r["status"] for r in rows if r["kind"] == "delivery"}
    disabled = [(r["account_id"], r["endpoint_id"]) for r in rows if r["kind"] == "disabled"]
    return statuses, disabled


def _outcome_columns(outcomes: Sequence[Outcome]) -> list[list[Any]]:
    return [
        [o.account_id for o in outcomes],
        [o.delivery_id for o in outcomes],
        [o.ok for o in outcomes],
        [o.http_status for o in outcomes],
        [o.error for o in outcomes],
        [o.latency_ms for o in outcomes],
        [o.response for o in outcomes],
        [o.at for o in outcomes],
        [o.next_at for o in outcomes],
    ]


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


async def queue_depths(db: Db, limit: int) -> list[asyncpg.Record]:
    """Pending deliveries of the `limit` deepest endpoints."""
    return list(await db.fetch(queries.get("wh_queue_depth"), limit))


async def disabled_endpoints(db: Db) -> int:
    return int(await db.fetchval(queries.get("wh_disabled_count")) or 0)


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
