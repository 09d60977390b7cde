"""The inbound event log: an account's stored callbacks, newest first, in keyset pages,
filtered by openid, type and time; each index-backed and LIMITed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import asyncpg

from gateway.store import pool as pool_mod
from gateway.store import queries

Db = pool_mod.Connection | asyncpg.Pool
# Callbacks received after a time filter's end beyond which the page is read from the
# window's ids rather than by walking ids down from the newest.
NEWER = 10_000


@dataclasses.dataclass(frozen=True, kw_only=True)
class Filter:
    """openid; msg_type (`text`, `event`, ...) and, for events, the event in lower case."""

    openid: str | None = None
    msg_type: str | None = None
    event: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def _plan(db: Db, account_id: str, where: Filter) -> str:
    """Which page query: by id from the newest, unless a time filter ends where NEWER or more
    callbacks were received after it (then the window's ids come from the time index)."""
    if where.until is None:
        return "console_inbound_list"
    newer = await db.fetchval(queries.get("console_inbound_newer"), account_id, where.until, NEWER)
    return "console_inbound_list_window" if newer >= NEWER else "console_inbound_list"


async def list_events(
    db: Db, account_id: str, where: Filter, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` stored callbacks with ids below `before`, newest first."""
    rows = await pool_mod.fetch_planned(
        db,
        queries.get(await _plan(db, account_id, where)),
        account_id,
        before,
        where.openid,
        where.msg_type,
        where.event.lower() if where.event is not None else None,
        where.since,
        where.until,
        limit,
    )
    return [dict(r) for r in rows]
