"""Deliveries as the release scheduler sees them: claims, leases, quota units, results, holds,
expiry, job-finish results and retention (message status: gateway.store.message_status).

Every write that must hold across workers is a SQL rule: `FOR UPDATE SKIP LOCKED` claims,
conditional quota upserts under the usage tables' CHECKs, results recorded only by the lease
holder. Times are parameters (the worker's clock), never `now()`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import asyncpg

from gateway.store import pool, queries
from gateway.store.message_status import refresh_messages

Key = tuple[str, int]  # (account_id, id) of a delivery or a message

FOLLOWER_MONTH = "follower_month"
ACCOUNT_DAY = "account_day"


@dataclasses.dataclass(frozen=True)
class Change:
    """The new state of one delivery (a claim decision or a WeChat result)."""

    account_id: str
    id: int
    status: str
    reason: str | None = None
    release_at: dt.datetime | None = None
    wait_for: str | None = None
    channel: str | None = None
    client_msg_id: str | None = None
    quota_kind: str | None = None
    quota_key: dt.date | None = None
    lease_until: dt.datetime | None = None
    attempt: int = 0  # claims: +1 for a send; results: -1 undoes a send that never started
    wechat_msgid: str | None = None
    errcode: int | None = None
    errmsg: str | None = None
    unknown: bool = False  # results: WeChat may have carried this attempt out
    # results: the row's attempt count under the lease the result belongs to; a put-back
    # (attempt -1) is written only while that lease is the row's latest.
    leased_attempts: int | None = None


@dataclasses.dataclass(frozen=True)
class Unit:
    """One consumed mass-quota unit: a follower's month or an account's day."""

    kind: str
    account_id: str
    openid: str | None
    period: dt.date


@dataclasses.dataclass(frozen=True)
class WindowCount:
    """One message taken from a follower's counted window (wechat-2023) by a claim, with what
    names that allowance: its end and the follower's latest interaction at the claim."""

    account_id: str
    openid: str
    ends_at: dt.datetime | None
    interacted_at: dt.datetime | None


# --- claims ------------------------------------------------------------------------------


async def claim_due(
    conn: pool.Connection,
    now: dt.datetime,
    per_account: int,
    total: int,
    caps: Mapping[str, int] | None = None,
) -> list[asyncpg.Record]:
    """Lock due rows (queued or held, release_at <= now), fairly across accounts: at most
    `per_account` of each, `caps[account]` of the accounts named there."""
    capped = sorted((caps or {}).items())
    return await conn.fetch(
        queries.get("sched_claim_due"),
        now,
        per_account,
        total,
        [a for a, _ in capped],
        [min(n, per_account) for _, n in capped],
    )


async def claim_message_rows(
    conn: pool.Connection, now: dt.datetime, messages: Iterable[Key], limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` due, unpinned rows of each message (rows this transaction already holds
    come back too)."""
    messages = sorted(set(messages))
    if not messages:
        return []
    return await conn.fetch(
        queries.get("sched_claim_message_rows"),
        now,
        [m[0] for m in messages],
        [m[1] for m in messages],
        limit,
    )


async def lock_batch_members(
    conn: pool.Connection, batches: Iterable[tuple[str, str]]
) -> list[asyncpg.Record]:
    """The not-due rows of pinned mass batches whose due first row this transaction holds."""
    batches = list(batches)
    if not batches:
        return []
    return await conn.fetch(
        queries.get("sched_lock_batch_members"),
        [b[0] for b in batches],
        [b[1] for b in batches],
    )


async def expired_leases(
    conn: pool.Connection, now: dt.datetime, limit: int
) -> list[asyncpg.Record]:
    """Candidates to take over: sending rows whose lease ended (no lock taken)."""
    return await conn.fetch(queries.get("sched_expired_leases"), now, limit)


async def take_leases(
    conn: pool.Connection,
    now: dt.datetime,
    candidates: Sequence[asyncpg.Record],
    lease_until: dt.datetime,
    worker_id: str,
) -> list[asyncpg.Record]:
    """Lease the candidates (and every row of their mass batches) to `worker_id`, counting
    an attempt; rows another worker took meanwhile are left out."""
    batches = {
        (c["account_id"], c["client_msg_id"])
        for c in candidates
        if c["channel"] == "mass_openids" and c["client_msg_id"] is not None
    }
    return await conn.fetch(
        queries.get("sched_take_leases"),
        now,
        [c["account_id"] for c in candidates],
        [c["id"] for c in candidates],
        [b[0] for b in batches],
        [b[1] for b in batches],
        lease_until,
        worker_id,
    )


async def load_messages(conn: pool.Connection, keys: Iterable[Key]) -> dict[Key, asyncpg.Record]:
    keys = list(set(keys))
    rows = await conn.fetch(
        queries.get("sched_messages"), [k[0] for k in keys], [k[1] for k in keys]
    )
    return {(r["account_id"], r["id"]): r for r in rows}


async def load_accounts(
    conn: pool.Connection, account_ids: Iterable[str]
) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(queries.get("sched_accounts"), sorted(set(account_ids)))
    return {r["id"]: r for r in rows}


async def lock_followers(
    conn: pool.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], asyncpg.Record]:
    """Each wanted follower with `locked` (we hold it now) and `busy` (another transaction
    does: skip its deliveries this pass); neither means the row does not exist."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    rows = await conn.fetch(
        queries.get("sched_lock_followers"), [k[0] for k in keys], [k[1] for k in keys]
    )
    return {(r["account_id"], r["openid"]): r for r in rows}


async def follower_usage(
    conn: pool.Connection, keys: Iterable[tuple[str, str, dt.date]]
) -> dict[tuple[str, str, dt.date], int]:
    keys = list(set(keys))
    if not keys:
        return {}
    rows = await conn.fetch(
        queries.get("sched_follower_usage"),
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return {(r["account_id"], r["openid"], r["period"]): r["used"] for r in rows}


async def account_usage(
    conn: pool.Connection, keys: Iterable[tuple[str, dt.date]]
) -> dict[tuple[str, dt.date], int]:
    keys = list(set(keys))
    if not keys:
        return {}
    rows = await conn.fetch(
        queries.get("sched_account_usage"), [k[0] for k in keys], [k[1] for k in keys]
    )
    return {(r["account_id"], r["period"]): r["used"] for r in rows}


async def consume_units(
    conn: pool.Connection, units: Iterable[Unit], limits: Mapping[str, int]
) -> set[Unit]:
    """Take the units with conditional upserts; returns the units that could NOT be taken
    (every unit of a key whose total would pass `limits[kind]`)."""
    counts = Counter(units)
    refused: set[Unit] = set()
    followers = [u for u in counts if u.kind == FOLLOWER_MONTH]
    if followers:
        rows = await conn.fetch(
            queries.get("sched_consume_follower_units"),
            [u.account_id for u in followers],
            [u.openid for u in followers],
            [u.period for u in followers],
            [counts[u] for u in followers],
            limits[FOLLOWER_MONTH],
        )
        taken = {(r["account_id"], r["openid"], r["period"]) for r in rows}
        refused |= {u for u in followers if (u.account_id, u.openid, u.period) not in taken}
    accounts = [u for u in counts if u.kind == ACCOUNT_DAY]
    if accounts:
        rows = await conn.fetch(
            queries.get("sched_consume_account_units"),
            [u.account_id for u in accounts],
            [u.period for u in accounts],
            [counts[u] for u in accounts],
            limits[ACCOUNT_DAY],
        )
        taken_accounts = {(r["account_id"], r["period"]) for r in rows}
        refused |= {u for u in accounts if (u.account_id, u.period) not in taken_accounts}
    return refused


async def give_back_units(conn: pool.Connection, units: Iterable[Unit]) -> None:
    """Return units WeChat did not use (never below zero)."""
    counts = Counter(units)
    followers = [u for u in counts if u.kind == FOLLOWER_MONTH]
    if followers:
        await conn.execute(
            queries.get("sched_give_back_follower_units"),
            [u.account_id for u in followers],
            [u.openid for u in followers],
            [u.period for u in followers],
            [counts[u] for u in followers],
        )
    accounts = [u for u in counts if u.kind == ACCOUNT_DAY]
    if accounts:
        await conn.execute(
            queries.get("sched_give_back_account_units"),
            [u.account_id for u in accounts],
            [u.period for u in accounts],
            [counts[u] for u in accounts],
        )


async def fill_account_usage(
    conn: pool.Connection, keys: Iterable[tuple[str, dt.date]], limit: int
) -> None:
    """WeChat answered 45028: the account's period is used up, whatever we counted."""
    keys = sorted(set(keys))
    if keys:
        await conn.execute(
            queries.get("sched_fill_account_usage"),
            [k[0] for k in keys],
            [k[1] for k in keys],
            [limit] * len(keys),
        )


async def apply_decisions(
    conn: pool.Connection, now: dt.datetime, worker_id: str, changes: Sequence[Change]
) -> None:
    """Write a claim's decisions in one statement; sends are leased to `worker_id`."""
    if not changes:
        return
    await conn.execute(
        queries.get("sched_apply_decisions"),
        now,
        [c.account_id for c in changes],
        [c.id for c in changes],
        [c.status for c in changes],
        [c.reason for c in changes],
        [c.release_at for c in changes],
        [c.wait_for for c in changes],
        [c.channel for c in changes],
        [c.client_msg_id for c in changes],
        [c.quota_kind for c in changes],
        [c.quota_key for c in changes],
        [c.lease_until for c in changes],
        [worker_id if c.status == "sending" else None for c in changes],
        [c.attempt for c in changes],
        [c.errmsg for c in changes],
    )


async def update_windows(
    conn: pool.Connection, now: dt.datetime, remaining: Mapping[tuple[str, str], int]
) -> None:
    """Counted windows (wechat-2023) after this claim's customer-service sends."""
    if not remaining:
        return
    keys = sorted(remaining)
    await conn.execute(
        queries.get("sched_update_windows"),
        now,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [remaining[k] for k in keys],
    )


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
        queries.get("sched_give_back_windows"),
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
        queries.get("sched_record_results"),
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
            queries.get("sched_close_windows"), now, [k[0] for k in keys], [k[1] for k in keys]
        )


async def mark_unsubscribed(
    conn: pool.Connection, now: dt.datetime, keys: Iterable[tuple[str, str]]
) -> None:
    """WeChat said these recipients do not follow the account (43004)."""
    keys = sorted(set(keys))
    if keys:
        await conn.execute(
            queries.get("sched_mark_unsubscribed"),
            now,
            [k[0] for k in keys],
            [k[1] for k in keys],
        )


# --- expiry, cancel, job results, retention ----------------------------------------------


def units_of(rows: Iterable[asyncpg.Record]) -> list[Unit]:
    """The units named by rows with quota_kind, quota_key, account_id and openid."""
    return [
        Unit(r["quota_kind"], r["account_id"], r["openid"], r["quota_key"])
        for r in rows
        if r["quota_kind"] is not None and r["quota_key"] is not None
    ]


async def expire_overdue(conn: pool.Connection, now: dt.datetime, limit: int = 5000) -> int:
    """The expiry sweep: unfinished rows of messages past `expires_at` expire with the reason
    they waited for (never silently); their units are given back. Returns rows expired."""
    async with conn.transaction():
        rows = await conn.fetch(queries.get("sched_expire_overdue"), now, limit)
        if rows:
            await give_back_units(conn, units_of(rows))
            await refresh_messages(conn, [(r["account_id"], r["message_id"]) for r in rows], now)
    return len(rows)


async def cancel_message(
    conn: pool.Connection, account_id: str, message_id: int, now: dt.datetime
) -> int:
    """Cancel the deliveries of a message that have not gone out (queued, held), giving back
    the quota units retried mass batches keep; returns rows canceled."""
    async with conn.transaction():
        rows = await conn.fetch(queries.get("sched_cancel_message"), account_id, message_id, now)
        await give_back_units(conn, units_of(rows))
        await refresh_messages(conn, [(account_id, message_id)], now)
    return len(rows)


_ERR = re.compile(r"^err\((-?\d+)\)$")


def job_result(status: str) -> tuple[str, str | None, int | None, str | None] | None:
    """(delivery status, reason, errcode, errmsg) for a job-finish `Status`, None if unknown.

    TEMPLATESENDJOBFINISH: `success`, `failed:user block`, `failed: system failed`.
    MASSSENDJOBFINISH: `send success`, `send fail`, `err(N)` (a review failure).
    """
    text = status.strip()
    if text in ("success", "send success"):
        return "delivered", None, None, None
    if text.startswith("failed") or text == "send fail":
        return "failed", "job_failed", None, text
    match = _ERR.match(text)
    if match:
        return "failed", "job_failed", int(match.group(1)), text
    return None


async def record_job_finish(
    conn: pool.Connection,
    account_id: str,
    msgid: str,
    status: str,
    counts: Mapping[str, int],
    *,
    now: dt.datetime | None = None,
) -> int:
    """Apply a job-finish push to the sent deliveries of WeChat's `msgid`: delivered or
    failed (errmsg = the Status); the counts go into the transition's detail. Returns rows
    changed (0 for an unknown Status, or when no sent delivery has that msgid yet)."""
    result = job_result(status)
    if result is None:
        return 0
    new_status, reason, errcode, errmsg = result
    at = now or dt.datetime.now(dt.UTC)
    async with conn.transaction():
        rows = await conn.fetch(
            queries.get("sched_job_finish"),
            account_id,
            str(msgid),
            new_status,
            reason,
            errcode,
            errmsg,
            at,
        )
        if rows:
            detail = {"job": {"msgid": str(msgid), "status": status, **dict(counts)}}
            await refresh_messages(conn, {(account_id, r["message_id"]) for r in rows}, at, detail)
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
        queries.get("sched_early_job_finishes"), [s[0] for s in sent], [s[1] for s in sent]
    )
    changed = 0
    for r in rows:
        fields = r["fields"] if isinstance(r["fields"], dict) else {}
        counts = {k: int(fields[k]) for k in _COUNT_FIELDS if str(fields.get(k, "")).isdigit()}
        changed += await record_job_finish(
            conn, r["account_id"], r["msg_id"], str(fields.get("Status", "")), counts, now=now
        )
    return changed


async def tokens_expiring(pool_: asyncpg.Pool, before: dt.datetime) -> list[asyncpg.Record]:
    """Accounts whose cached access token expires before `before`."""
    return await pool_.fetch(queries.get("sched_tokens_expiring"), before)


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
        ("inbound_events", "sched_purge_inbound_events", events_before),
        ("messages", "sched_purge_messages", messages_before),
    ):
        while True:
            status = await conn.execute(queries.get(query), before, batch)
            count = int(status.split()[-1])
            deleted[name] += count
            if count < batch:
                break
    deleted["usage"] = int(await conn.fetchval(queries.get("sched_purge_usage"), usage_before))
    return deleted
