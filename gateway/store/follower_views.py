"""Read-only views of followers for the API: one follower, or keyset pages by window state.

Rows carry `mass_used`, the follower's mass units in the period asked for, so the caller can
show the quota without a second query.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import asyncpg

from gateway.store import errors, queries
from gateway.store import pool as pool_mod

Db = pool_mod.Connection | asyncpg.Pool


async def get_follower(db: Db, account_id: str, openid: str, period: dt.date) -> dict[str, Any]:
    """The follower row (NotFound if the gateway never saw it) with its units in `period`."""
    row = await db.fetchrow(queries.get("api_follower_get"), account_id, openid, period)
    if row is None:
        raise errors.NotFound("no such follower")
    return dict(row)


async def list_followers(
    db: Db,
    account_id: str,
    *,
    window: Literal["open", "closed"] | None,
    now: dt.datetime,
    period: dt.date,
    after: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` followers ordered by openid after `after`; unknown account: NotFound."""
    if not await db.fetchval(queries.get("api_account_exists"), account_id):
        raise errors.NotFound(f"no account {account_id!r}")
    rows = await db.fetch(
        queries.get("api_follower_list"), account_id, after, window, now, period, limit
    )
    return [dict(r) for r in rows]
