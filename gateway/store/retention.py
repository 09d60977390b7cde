"""Retention: old raw callbacks, finished messages and past quota counters deleted in batches."""

from __future__ import annotations

import datetime as dt

from gateway.store import pool, queries


async def purge_old(
    conn: pool.Connection,
    events_before: dt.datetime,
    messages_before: dt.datetime,
    usage_before: dt.date,
    batch: int = 5000,
) -> dict[str, int]:
    """Retention, in batches so no statement holds many locks: raw callbacks received before
    `events_before`, finished messages last changed before `messages_before` (their
    deliveries and history cascade), and quota counters of periods before `usage_before`."""
    deleted = {"inbound_events": 0, "messages": 0, "usage": 0}
    for name, query, before in (
        ("inbound_events", "purge_inbound_events", events_before),
        ("messages", "purge_finished_messages", messages_before),
    ):
        while True:
            status = await conn.execute(queries.get(query), before, batch)
            count = int(status.split()[-1])
            deleted[name] += count
            if count < batch:
                break
    deleted["usage"] = int(await conn.fetchval(queries.get("purge_quota_usage"), usage_before))
    return deleted
