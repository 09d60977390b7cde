"""Wake-ups no interleaving can lose (SPEC 2.2): the second look each side of a race takes
after its own commit.

A claim decides on the follower row it locked; a callback that opens a window (or
re-subscribes) takes the same row lock, so a claim that held a delivery on the old state
commits before the callback writes the new one. What the callback's own wake can still miss:
its snapshot (one statement, or taken before the row was created) may predate that claim's
commit. So each side looks again once committed: the callback at the held deliveries of the
followers it woke, and a claim that decided on a follower with no row at that follower. One of
the two second looks always sees the other's write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from gateway.store import pool, queries


async def after_ingest(conn: pool.Connection, followers: Iterable[tuple[str, str]]) -> None:
    """After a callback batch committed: make due every delivery still held for an event of
    these (account, openid) followers, if they are subscribed now."""
    keys = sorted(set(followers))
    if keys:
        await conn.execute(
            queries.get("wake_after_ingest"), [k[0] for k in keys], [k[1] for k in keys]
        )


async def after_claim(
    conn: pool.Connection, now: dt.datetime, rows: Iterable[tuple[str, int]]
) -> None:
    """After a claim committed: its (account, delivery id) rows held for an event on a
    follower that had no row are due at `now` if that follower now exists subscribed."""
    keys = sorted(set(rows))
    if keys:
        await conn.execute(
            queries.get("wake_after_claim"), now, [k[0] for k in keys], [k[1] for k in keys]
        )
