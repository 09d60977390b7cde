"""Batched messages (a service `all` mass) that end without a send, and the hand retry: the
expiry sweep's and the cancel's part for their batches and unexpanded messages (units back
unless an attempt may have reached WeChat), and failed batches queued again with new keys.
"""

from __future__ import annotations

import datetime as dt

from gateway.domain import attempts
from gateway.store import mass_batches, mass_expansion, pool, queries
from gateway.store.mass_batches import End
from gateway.store.message_status import refresh_messages


async def expire_overdue(conn: pool.Connection, now: dt.datetime, limit: int) -> int:
    """The expiry sweep's part (inside its transaction): batches of messages past expiry end
    `expired` with the reason they waited for (units back unless an attempt may have
    arrived); abandoned sending ones `outcome_unknown`; unexpanded messages expire."""
    rows = await conn.fetch(queries.get("find_overdue_batches"), now, limit)
    ends = []
    for r in rows:
        key = (r["account_id"], r["message_id"], r["seq"])
        if r["status"] == "sending":
            ends.append(End(key, "expired", attempts.OUTCOME_UNKNOWN, False))
        else:
            ends.append(End(key, "expired", r["reason"] or "expired", r["unknown_since"] is None))
    await mass_batches.end(conn, now, ends)
    keys = mass_batches.messages_of(e.key for e in ends)
    await refresh_messages(conn, keys, now)
    unexpanded = await conn.fetch(queries.get("find_overdue_unexpanded"), now, limit)
    for m in unexpanded:
        await mass_expansion.end_unexpanded(
            conn, (m["account_id"], m["id"]), "expired", "expired", None, now
        )
    return len(rows) + len(unexpanded)


async def cancel(conn: pool.Connection, account_id: str, message_id: int, now: dt.datetime) -> int:
    """The cancel's part (inside its transaction): recipients canceled, of an unexpanded
    message or of its queued and held batches (their units back unless an attempt may have
    arrived)."""
    ended = await conn.fetch(
        queries.get("end_unexpanded_message"), account_id, message_id, "canceled", None, None, now
    )
    total = 0
    if ended:
        total += int(await conn.fetchval(queries.get("get_message_total"), account_id, message_id))
    rows = await conn.fetch(queries.get("cancel_message_batches"), account_id, message_id, now)
    return total + sum(int(r["recipients"]) for r in rows)


async def retry_failed(conn: pool.Connection, account_id: str, message_id: int) -> int:
    """The hand retry's part: failed batches are queued again with new keys, their units
    returned (the claim takes this month's). Returns batches queued."""
    rows = await conn.fetch(queries.get("retry_failed_batches"), account_id, message_id)
    return len(rows)
