"""What the console reads about webhooks and follower syncs beyond the API's lists (those it
reads through gateway.store.webhooks and webhook_log): endpoints failing, the deliveries of
stored callbacks, attempts per minute, and the syncs of an account; every query
index-backed and LIMITed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import asyncpg

from gateway.store import pool as pool_mod
from gateway.store import queries, rows

Db = pool_mod.Connection | asyncpg.Pool
# Deliveries shown per callback on the event log.
PER_EVENT = 10


@dataclasses.dataclass(frozen=True, slots=True)
class InboundDelivery:
    """One webhook delivery of a stored callback, as the event log lists it."""

    id: int
    endpoint_id: str
    status: str
    attempts: int


@dataclasses.dataclass(frozen=True, slots=True)
class SyncRow:
    """A follower sync as the console's list shows it."""

    id: int
    status: str
    error: str | None
    errcode: int | None
    pages: int
    followers_seen: int
    total: int | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


async def failing_endpoints(db: Db, account_id: str, cap: int) -> int:
    """Endpoints whose every attempt failed since some time (at most `cap`)."""
    return int(await db.fetchval(queries.get("console_endpoints_failing"), account_id, cap) or 0)


async def inbound_deliveries(
    db: Db, account_id: str, keys: Sequence[str]
) -> dict[str, list[InboundDelivery]]:
    """{dedupe key: its deliveries (at most PER_EVENT, newest first)}."""
    found = await db.fetch(
        queries.get("console_inbound_deliveries"), account_id, list(keys), PER_EVENT
    )
    out: dict[str, list[InboundDelivery]] = {}
    for r in found:
        out.setdefault(r["inbound_key"], []).append(rows.build(InboundDelivery, r))
    return out


async def attempts_per_minute(
    db: Db, account_id: str, since: dt.datetime
) -> dict[dt.datetime, int]:
    found = await db.fetch(queries.get("console_webhook_attempts_per_minute"), account_id, since)
    return {r["minute"]: int(r["n"]) for r in found}


async def list_syncs(db: Db, account_id: str, before: int | None, limit: int) -> list[SyncRow]:
    found = await db.fetch(queries.get("console_sync_list"), account_id, before, limit)
    return rows.build_all(SyncRow, found)
