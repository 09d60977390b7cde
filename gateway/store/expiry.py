"""Deliveries that end without a send: the expiry sweep and a message's cancel; both give
back the quota units no attempt may have used.
"""

from __future__ import annotations

import datetime as dt

from gateway.store import mass_ends, pool, queries, quota_units
from gateway.store.message_status import refresh_messages


async def expire_overdue(conn: pool.Connection, now: dt.datetime, limit: int = 5000) -> int:
    """The expiry sweep: unfinished rows of messages past `expires_at` expire with the reason
    they waited for (never silently); their units are given back. Returns rows expired (a
    mass batch, or an unexpanded batched message, counts one)."""
    async with conn.transaction():
        rows = await conn.fetch(queries.get("expire_overdue_deliveries"), now, limit)
        if rows:
            await quota_units.give_back_units(conn, quota_units.units_of(rows))
            await refresh_messages(conn, [(r["account_id"], r["message_id"]) for r in rows], now)
        batches = await mass_ends.expire_overdue(conn, now, limit)
    return len(rows) + batches


async def cancel_message(
    conn: pool.Connection, account_id: str, message_id: int, now: dt.datetime
) -> int:
    """Cancel the deliveries of a message that have not gone out (queued, held), giving back
    the quota units retried mass batches keep; returns recipients canceled (of a batched
    message: its unexpanded audience, or its queued and held batches)."""
    async with conn.transaction():
        batched = await mass_ends.cancel(conn, account_id, message_id, now)
        rows = await conn.fetch(queries.get("cancel_message"), account_id, message_id, now)
        await quota_units.give_back_units(conn, quota_units.units_of(rows))
        await refresh_messages(conn, [(account_id, message_id)], now)
    return len(rows) + batched
