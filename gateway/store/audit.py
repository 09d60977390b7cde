"""The audit log (SPEC 11): one row per change made through the API or the console, read
back newest first in keyset pages."""

from __future__ import annotations

import dataclasses
import datetime as dt

import asyncpg

from gateway.store import pool as pool_mod
from gateway.store import queries, rows

Db = pool_mod.Connection | asyncpg.Pool


@dataclasses.dataclass(frozen=True, kw_only=True)
class Entry:
    """One change: who (actor, token), through what (api|console), what, from where."""

    actor: str
    token_id: int | None
    via: str
    method: str
    route: str
    path: str
    account_id: str | None
    status: int
    remote_addr: str | None
    summary: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Logged:
    """An entry as stored: its id and time, and what `Entry` says."""

    id: int
    at: dt.datetime
    actor: str
    token_id: int | None
    via: str
    method: str
    route: str
    path: str
    account_id: str | None
    status: int
    remote_addr: str | None
    summary: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Filter:
    account_id: str | None = None
    actor: str | None = None
    token_id: int | None = None
    method: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def record(db: Db, entry: Entry) -> int:
    """Write one entry; returns its id."""
    entry_id: int = await db.fetchval(
        queries.get("audit_insert"),
        entry.actor,
        entry.token_id,
        entry.via,
        entry.method,
        entry.route,
        entry.path,
        entry.account_id,
        entry.status,
        entry.remote_addr,
        entry.summary,
    )
    return entry_id


async def list_entries(db: Db, where: Filter, before: int | None, limit: int) -> list[Logged]:
    """Up to `limit` entries newest first with ids below `before`, matching `where`."""
    found = await pool_mod.fetch_planned(
        db,
        queries.get("audit_list"),
        before,
        where.account_id,
        where.actor,
        where.token_id,
        where.method,
        where.since,
        where.until,
        limit,
    )
    return rows.build_all(Logged, found)
