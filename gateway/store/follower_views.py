"""Read-only views of followers for the API: one follower, or keyset pages by window state.

Rows carry `mass_used`, the follower's mass units in the period asked for, so the caller can
show the quota without a second query.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

import asyncpg

from gateway.store import errors, queries, rows
from gateway.store import pool as pool_mod

Db = pool_mod.Connection | asyncpg.Pool


@dataclasses.dataclass(frozen=True, slots=True)
class FollowerView:
    """A follower as the API and console show it, with `mass_used`: its mass units in the
    period asked for (None when it used none)."""

    account_id: str
    openid: str
    subscribed: bool
    subscribed_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None
    last_interaction_at: dt.datetime | None
    last_interaction: str | None
    window_ends_at: dt.datetime | None
    window_remaining: int | None
    first_qr_scene: str | None
    latest_qr_scene: str | None
    oauth_scope: str | None
    oauth_at: dt.datetime | None
    unionid: str | None
    nickname: str | None
    subscribe_scene: str | None
    qr_scene: str | None
    remark: str | None
    tags: list[int]
    synced_at: dt.datetime | None
    updated_at: dt.datetime
    mass_used: int | None


async def get_follower(db: Db, account_id: str, openid: str, period: dt.date) -> FollowerView:
    """The follower (NotFound if the gateway never saw it) with its units in `period`."""
    row = await db.fetchrow(queries.get("api_follower_get"), account_id, openid, period)
    if row is None:
        raise errors.NotFound("no such follower")
    return rows.build(FollowerView, row)


async def list_followers(
    db: Db,
    account_id: str,
    *,
    window: Literal["open", "closed"] | None,
    now: dt.datetime,
    period: dt.date,
    after: str | None,
    limit: int,
) -> list[FollowerView]:
    """Up to `limit` followers ordered by openid after `after`; unknown account: NotFound."""
    if not await db.fetchval(queries.get("api_account_exists"), account_id):
        raise errors.NotFound(f"no account {account_id!r}")
    found = await db.fetch(
        queries.get("api_follower_list"), account_id, after, window, now, period, limit
    )
    return rows.build_all(FollowerView, found)
