"""Job-finish pushes (TEMPLATESENDJOBFINISH, MASSSENDJOBFINISH) applied to the sent deliveries
(or the sent mass batch) of WeChat's msgid, also when the push was stored before the send's
result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from gateway.domain import job_results
from gateway.store import pool, queries
from gateway.store.message_status import refresh_messages


async def record_job_finish(
    conn: pool.Connection,
    account_id: str,
    msgid: str,
    status: str,
    counts: Mapping[str, int],
    *,
    now: dt.datetime,
) -> int:
    """Apply a job-finish push to the sent deliveries of WeChat's `msgid`: delivered or
    failed (errmsg = the Status); the counts go into the transition's detail. Returns rows
    changed (0 for an unknown Status, or when no sent delivery has that msgid yet)."""
    result = job_results.job_result(status)
    if result is None:
        return 0
    async with conn.transaction():
        rows = await conn.fetch(
            queries.get("finish_job_deliveries"),
            account_id,
            str(msgid),
            result.status,
            result.reason,
            result.errcode,
            result.errmsg,
            now,
        )
        # A batch of a service `all` mass: its own row, with the push's counts.
        rows += await conn.fetch(
            queries.get("finish_job_batches"),
            account_id,
            str(msgid),
            result.status,
            result.reason,
            result.errcode,
            result.errmsg,
            status,
            *(counts.get(name) for name in _COUNT_FIELDS),
            now,
        )
        if rows:
            detail = {"job": {"msgid": str(msgid), "status": status, **dict(counts)}}
            await refresh_messages(conn, {(account_id, r["message_id"]) for r in rows}, now, detail)
    return len(rows)


_COUNT_FIELDS = ("TotalCount", "FilterCount", "SentCount", "ErrorCount")


async def apply_early_job_finishes(
    conn: pool.Connection, sent: Iterable[tuple[str, str]], now: dt.datetime
) -> int:
    """Job-finish pushes that were stored before we recorded the sends they report (the
    platform can answer the push before our result commits): apply them now."""
    sent = sorted(set(sent))
    if not sent:
        return 0
    rows = await conn.fetch(
        queries.get("find_early_job_finishes"), [s[0] for s in sent], [s[1] for s in sent]
    )
    changed = 0
    for r in rows:
        fields = r["fields"] if isinstance(r["fields"], dict) else {}
        counts = {k: int(fields[k]) for k in _COUNT_FIELDS if str(fields.get(k, "")).isdigit()}
        changed += await record_job_finish(
            conn, r["account_id"], r["msg_id"], str(fields.get("Status", "")), counts, now=now
        )
    return changed
