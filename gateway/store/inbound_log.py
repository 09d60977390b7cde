"""The inbound event log: an account's stored callbacks, newest first, in keyset pages,
filtered by openid, type and time; each index-backed and LIMITed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import asyncpg

from gateway.store import pool as pool_mod
from gateway.store import queries, rows

Db = pool_mod.Connection | asyncpg.Pool
# Callbacks (of those the filter matches) received after a time filter's end beyond which
# the page is read backwards from that end rather than by walking ids down from the newest.
NEWER = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class StoredCallback:
    """A stored callback as the console shows it; `fields` is its stored JSON document."""

    account_id: str
    id: int
    dedupe_key: str
    openid: str
    msg_type: str
    event: str | None
    event_key: str | None
    msg_id: str | None
    create_time: dt.datetime
    received_at: dt.datetime
    fields: dict[str, Any]
    raw_xml: str | None = None
    reply_xml: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Filter:
    """openid; msg_type (`text`, `event`, ...) and, for events, the event in lower case."""

    openid: str | None = None
    msg_type: str | None = None
    event: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def _plan(db: Db, account_id: str, where: Filter) -> str:
    """Which reads: by id from the newest, unless a time filter ends where NEWER or more
    callbacks were received after it (then from the time index backwards from its end)."""
    if where.until is None:
        return "by_id"
    if where.openid is None and where.msg_type is None and where.event is None:
        newer = await db.fetchval(
            queries.get("console_inbound_newer"), account_id, where.until, NEWER
        )
    else:  # the walk by id reads only the callbacks the filter's index holds
        (newer,) = await pool_mod.fetch_planned(
            db,
            queries.get("console_inbound_newer_matching"),
            account_id,
            where.until,
            NEWER,
            where.openid,
            where.msg_type,
            where.event.lower() if where.event is not None else None,
        )
        newer = newer["count"]
    return "before_until" if newer >= NEWER else "by_id"


async def list_events(
    db: Db, account_id: str, where: Filter, before: int | None, limit: int
) -> list[StoredCallback]:
    """Up to `limit` stored callbacks with ids below `before`, newest first."""
    args = (
        account_id,
        before,
        where.openid,
        where.msg_type,
        where.event.lower() if where.event is not None else None,
        where.since,
        where.until,
    )
    if await _plan(db, account_id, where) == "by_id":
        found = await pool_mod.fetch_planned(db, queries.get("console_inbound_list"), *args, limit)
    else:
        found = await _before_until(db, args, limit)
    return rows.build_all(StoredCallback, found)


async def _before_until(db: Db, args: tuple[Any, ...], limit: int) -> list[Any]:
    """The same page as console_inbound_list's, in bounded reads: the callbacks received last
    before `until`, then the ones with higher ids received before it too (BRIN block ranges),
    then the rows of the newest `limit` of both."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await _before_until(conn, args, limit)
    async with db.transaction():
        await db.execute(
            "SET LOCAL plan_cache_mode = force_custom_plan;"
            " SET LOCAL max_parallel_workers_per_gather = 0"  # two small reads: no workers
        )
        near = await db.fetchrow(queries.get("console_inbound_near"), *args, limit)
        assert near is not None  # an aggregate: always one row
        await db.execute(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off;"
            " SET LOCAL enable_indexonlyscan = off"
        )
        late = await db.fetch(queries.get("console_inbound_late"), *args, near["above"])
        await db.execute("RESET enable_seqscan; RESET enable_indexscan; RESET enable_indexonlyscan")
        ids = sorted({*near["ids"], *(r["id"] for r in late)}, reverse=True)[:limit]
        found: list[Any] = await db.fetch(queries.get("console_inbound_rows"), args[0], ids)
    return found
