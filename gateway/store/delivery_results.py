"""WeChat's answers to sends, written only by the lease holder, and what they say about the
followers (a closed window, an unsubscribe) and the counted windows put back unused.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence

from gateway.store import pool, queries
from gateway.store.delivery_rows import Change, Key, WindowCount


async def give_back_windows(
    conn: pool.Connection, now: dt.datetime, counts: Iterable[WindowCount]
) -> None:
    """Return the counts of calls put back unmade, each to the allowance it was taken from:
    only while the follower's window still ends when it did at the claim and no interaction
    came since (a newer trigger's allowance is not inflated)."""
    taken = Counter(counts)
    if not taken:
        return
    keys = sorted(taken, key=lambda c: (c.account_id, c.openid))
    await conn.execute(
        queries.get("give_back_window_counts"),
        now,
        [c.account_id for c in keys],
        [c.openid for c in keys],
        [c.ends_at for c in keys],
        [c.interacted_at for c in keys],
        [taken[c] for c in keys],
    )


async def record_results(
    conn: pool.Connection, worker_id: str, now: dt.datetime, changes: Sequence[Change]
) -> set[Key]:
    """Write WeChat's answers; returns the rows written. A row whose lease this worker lost
    (another worker took it over) is not written: the taker's result counts. A put-back is
    not written over a newer lease of the same worker either (it took its own row over)."""
    if not changes:
        return set()
    rows = await conn.fetch(
        queries.get("record_delivery_results"),
        worker_id,
        now,
        [c.account_id for c in changes],
        [c.id for c in changes],
        [c.status for c in changes],
        [c.reason for c in changes],
        [c.release_at for c in changes],
        [-c.attempt for c in changes],
        [c.channel for c in changes],
        [c.client_msg_id for c in changes],
        [c.quota_kind for c in changes],
        [c.quota_key for c in changes],
        [c.wechat_msgid for c in changes],
        [c.errcode for c in changes],
        [c.errmsg for c in changes],
        [c.unknown for c in changes],
        [c.leased_attempts for c in changes],
    )
    return {(r["account_id"], r["id"]) for r in rows}


async def close_windows(
    conn: pool.Connection, now: dt.datetime, keys: Iterable[tuple[str, str]]
) -> None:
    """WeChat refused a customer-service message: the follower's window is closed."""
    keys = sorted(set(keys))
    if keys:
        await conn.execute(
            queries.get("close_windows"), now, [k[0] for k in keys], [k[1] for k in keys]
        )


async def mark_unsubscribed(
    conn: pool.Connection, now: dt.datetime, keys: Iterable[tuple[str, str]]
) -> None:
    """WeChat said these recipients do not follow the account (43004)."""
    keys = sorted(set(keys))
    if keys:
        await conn.execute(
            queries.get("mark_followers_unsubscribed"),
            now,
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
