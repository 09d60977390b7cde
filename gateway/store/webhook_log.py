"""Webhook deliveries: the delivery log, retry, replay, reading stored callbacks instead of
receiving them, and retention (the worker's claims: gateway/store/webhook_claims.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from gateway.store import pool, queries, rows

Db = pool.Connection | asyncpg.Pool


@dataclasses.dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of a delivery: the HTTP status or the error, and the answer's start."""

    at: dt.datetime
    http_status: int | None
    error: str | None
    latency_ms: float
    response: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery as the log lists it; `row_id` is the stored event's (or callback's) id,
    `log` its latest attempts oldest first."""

    id: int
    status: str
    attempts: int
    event_type: str
    openid: str
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    inbound_key: str | None
    inbound: bool
    row_id: int | None
    log: tuple[Attempt, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Retried:
    """A delivery made due again."""

    id: int
    status: str
    attempts: int
    event_type: str
    next_attempt_at: dt.datetime
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Inbound:
    """A stored callback as polling reads it; `fields` is its stored JSON document."""

    id: int
    openid: str
    msg_type: str
    event: str | None
    create_time: dt.datetime
    received_at: dt.datetime
    fields: dict[str, Any]
    raw_xml: str | None


async def list_deliveries(
    db: Db,
    account_id: str,
    endpoint_id: str,
    status: str | None,
    before: int | None,
    limit: int,
    attempts: int | None = None,
) -> list[Delivery]:
    """Newest first, below `before`, each with its latest `attempts` attempts (None: all)
    oldest first in `log`. The API's list and the console's page read this."""
    # A custom plan, so a status filter uses its index.
    found = await pool.fetch_planned(
        db,
        queries.get("wh_deliveries_list"),
        account_id,
        endpoint_id,
        status,
        before,
        limit,
        attempts,
    )
    return [rows.build(Delivery, r, log=_log(r["log"])) for r in found]


def _log(value: Any) -> tuple[Attempt, ...]:
    items = json.loads(value) if isinstance(value, str) else value
    return tuple(
        rows.build(Attempt, item, at=dt.datetime.fromisoformat(item["at"])) for item in items
    )


async def retry(db: Db, account_id: str, endpoint_id: str, delivery_id: int) -> Retried | None:
    """Make one delivery due now (whatever its status); None if there is no such delivery."""
    row = await db.fetchrow(queries.get("wh_delivery_retry"), account_id, endpoint_id, delivery_id)
    if row is not None:
        await db.execute(queries.get("wh_notify"))
    return None if row is None else rows.build(Retried, row)


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
) -> list[Inbound]:
    found = await db.fetch(
        queries.get("wh_inbound_list"), account_id, openid, event_type, since, until, after, limit
    )
    return rows.build_all(Inbound, found)


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
