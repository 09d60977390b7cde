"""What the console shows about an account at a glance: follower, window and message counts
(each bounded by CAP rows, so a page never reads a whole table) and the last hour of
callbacks and sends per minute."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import asyncpg

from gateway.store import pool as pool_mod
from gateway.store import queries

Db = pool_mod.Connection | asyncpg.Pool
# Counts stop here (a page reads at most CAP index entries per count); the console shows
# "10,000+".
CAP = 10_000
STATUSES = ("queued", "held", "sending", "sent", "delivered", "failed", "expired", "canceled")


@dataclasses.dataclass(frozen=True, slots=True)
class FollowerCounts:
    """Followers, subscribed ones and open windows, each at most CAP."""

    followers: int
    subscribed: int
    open_windows: int


@dataclasses.dataclass(frozen=True, slots=True)
class Summary:
    """What the accounts overview shows for one account: follower counts, messages by
    status and held messages by reason (most frequent first), each bounded by CAP."""

    followers: int
    subscribed: int
    open_windows: int
    messages: dict[str, int]
    held: list[tuple[str, int]]


async def follower_counts(db: Db, account_id: str, now: dt.datetime) -> FollowerCounts:
    """followers, subscribed and open_windows (at `now`), each at most CAP."""
    row = await db.fetchrow(queries.get("console_follower_counts"), account_id, now, CAP)
    assert row is not None
    return FollowerCounts(int(row["followers"]), int(row["subscribed"]), int(row["open_windows"]))


async def message_counts(db: Db, account_id: str) -> dict[str, int]:
    """Messages of each status, each at most CAP."""
    found = await db.fetch(queries.get("console_message_counts"), account_id, list(STATUSES), CAP)
    return {r["status"]: int(r["n"]) for r in found}


async def held_reasons(db: Db, account_id: str) -> list[tuple[str, int]]:
    """Held messages by reason (over at most CAP of them), most frequent first."""
    found = await db.fetch(queries.get("console_held_reasons"), account_id, CAP)
    return [(r["reason"], int(r["n"])) for r in found]


async def per_minute(
    db: Db, account_id: str, since: dt.datetime
) -> dict[str, dict[dt.datetime, int]]:
    """Callbacks and sends per minute since `since` (minutes with none are absent)."""
    out: dict[str, dict[dt.datetime, int]] = {}
    for name in ("callbacks", "sends"):
        found = await db.fetch(queries.get(f"console_{name}_per_minute"), account_id, since)
        out[name] = {r["minute"]: int(r["n"]) for r in found}
    return out


async def summary(pool: asyncpg.Pool, account_id: str, now: dt.datetime) -> Summary:
    """Everything the accounts overview shows for one account (its three reads at once, each
    on a connection of its own)."""
    followers, messages, held = await asyncio.gather(
        follower_counts(pool, account_id, now),
        message_counts(pool, account_id),
        held_reasons(pool, account_id),
    )
    return Summary(
        followers.followers, followers.subscribed, followers.open_windows, messages, held
    )
