"""What the console shows about an account at a glance: follower, window and message counts
(each bounded by CAP rows, so a page never reads a whole table) and the last hour of
callbacks and sends per minute."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg

from gateway.store import pool as pool_mod
from gateway.store import queries

Db = pool_mod.Connection | asyncpg.Pool
# Counts stop here (a page reads at most CAP index entries per count); the console shows
# "10,000+".
CAP = 10_000
STATUSES = ("queued", "held", "sending", "sent", "delivered", "failed", "expired", "canceled")


async def follower_counts(db: Db, account_id: str, now: dt.datetime) -> dict[str, int]:
    """followers, subscribed and open_windows (at `now`), each at most CAP."""
    row = await db.fetchrow(queries.get("console_follower_counts"), account_id, now, CAP)
    assert row is not None
    return {k: int(v) for k, v in dict(row).items()}


async def message_counts(db: Db, account_id: str) -> dict[str, int]:
    """Messages of each status, each at most CAP."""
    rows = await db.fetch(queries.get("console_message_counts"), account_id, list(STATUSES), CAP)
    return {r["status"]: int(r["n"]) for r in rows}


async def held_reasons(db: Db, account_id: str) -> list[tuple[str, int]]:
    """Held messages by reason (over at most CAP of them), most frequent first."""
    rows = await db.fetch(queries.get("console_held_reasons"), account_id, CAP)
    return [(r["reason"], int(r["n"])) for r in rows]


async def per_minute(
    db: Db, account_id: str, since: dt.datetime
) -> dict[str, dict[dt.datetime, int]]:
    """Callbacks and sends per minute since `since` (minutes with none are absent)."""
    out: dict[str, dict[dt.datetime, int]] = {}
    for name in ("callbacks", "sends"):
        rows = await db.fetch(queries.get(f"console_{name}_per_minute"), account_id, since)
        out[name] = {r["minute"]: int(r["n"]) for r in rows}
    return out


async def summary(pool: asyncpg.Pool, account_id: str, now: dt.datetime) -> dict[str, Any]:
    """Everything the accounts overview shows for one account (its three reads at once, each
    on a connection of its own)."""
    followers, messages, held = await asyncio.gather(
        follower_counts(pool, account_id, now),
        message_counts(pool, account_id),
        held_reasons(pool, account_id),
    )
    return {**followers, "messages": messages, "held": held}
