"""Claims and leases of deliveries: `FOR UPDATE SKIP LOCKED` claims of due rows, the rows
they need (messages, accounts, followers), the claim's decisions, and the take-over of
expired leases. Times are parameters (the worker's clock), never `now()`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from gateway.store import pool, queries
from gateway.store.delivery_rows import (
    Account,
    Change,
    ClaimedDelivery,
    ExpiredLease,
    Key,
    LockedFollower,
    Message,
)


async def claim_due(
    conn: pool.Connection,
    now: dt.datetime,
    per_account: int,
    total: int,
    caps: Mapping[str, int] | None = None,
) -> list[ClaimedDelivery]:
    """Lock due rows (queued or held, release_at <= now), fairly across accounts: at most
    `per_account` of each, `caps[account]` of the accounts named there."""
    capped = sorted((caps or {}).items())
    rows = await conn.fetch(
        queries.get("claim_due_deliveries"),
        now,
        per_account,
        total,
        [a for a, _ in capped],
        [min(n, per_account) for _, n in capped],
    )
    return [ClaimedDelivery.from_record(r) for r in rows]


async def claim_message_rows(
    conn: pool.Connection, now: dt.datetime, messages: Iterable[Key], limit: int
) -> list[ClaimedDelivery]:
    """Up to `limit` due, unpinned rows of each message (rows this transaction already holds
    come back too)."""
    messages = sorted(set(messages))
    if not messages:
        return []
    rows = await conn.fetch(
        queries.get("claim_message_deliveries"),
        now,
        [m[0] for m in messages],
        [m[1] for m in messages],
        limit,
    )
    return [ClaimedDelivery.from_record(r) for r in rows]


async def lock_batch_members(
    conn: pool.Connection, batches: Iterable[tuple[str, str]]
) -> list[ClaimedDelivery]:
    """The not-due rows of pinned mass batches whose due first row this transaction holds."""
    batches = list(batches)
    if not batches:
        return []
    rows = await conn.fetch(
        queries.get("lock_batch_members"),
        [b[0] for b in batches],
        [b[1] for b in batches],
    )
    return [ClaimedDelivery.from_record(r) for r in rows]


async def expired_leases(conn: pool.Connection, now: dt.datetime, limit: int) -> list[ExpiredLease]:
    """Candidates to take over: sending rows whose lease ended (no lock taken)."""
    rows = await conn.fetch(queries.get("find_expired_leases"), now, limit)
    return [ExpiredLease(r["account_id"], r["id"], r["channel"], r["client_msg_id"]) for r in rows]


async def take_leases(
    conn: pool.Connection,
    now: dt.datetime,
    candidates: Sequence[ExpiredLease],
    lease_until: dt.datetime,
    worker_id: str,
) -> list[ClaimedDelivery]:
    """Lease the candidates (and every row of their mass batches) to `worker_id`, counting
    an attempt; rows another worker took meanwhile are left out."""
    batches = {
        (c.account_id, c.client_msg_id)
        for c in candidates
        if c.channel == "mass_openids" and c.client_msg_id is not None
    }
    rows = await conn.fetch(
        queries.get("take_expired_leases"),
        now,
        [c.account_id for c in candidates],
        [c.id for c in candidates],
        [b[0] for b in batches],
        [b[1] for b in batches],
        lease_until,
        worker_id,
    )
    return [ClaimedDelivery.from_record(r) for r in rows]


async def load_messages(conn: pool.Connection, keys: Iterable[Key]) -> dict[Key, Message]:
    keys = list(set(keys))
    rows = await conn.fetch(
        queries.get("get_claimed_messages"), [k[0] for k in keys], [k[1] for k in keys]
    )
    return {(r["account_id"], r["id"]): Message.from_record(r) for r in rows}


async def load_accounts(conn: pool.Connection, account_ids: Iterable[str]) -> dict[str, Account]:
    rows = await conn.fetch(queries.get("get_claim_accounts"), sorted(set(account_ids)))
    return {r["id"]: Account.from_record(r) for r in rows}


async def lock_followers(
    conn: pool.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], LockedFollower]:
    """Each wanted follower with `locked` (we hold it now) and `busy` (another transaction
    does: skip its deliveries this pass); neither means the row does not exist."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    rows = await conn.fetch(
        queries.get("lock_claim_followers"), [k[0] for k in keys], [k[1] for k in keys]
    )
    return {(r["account_id"], r["openid"]): LockedFollower.from_record(r) for r in rows}


async def apply_decisions(
    conn: pool.Connection, now: dt.datetime, worker_id: str, changes: Sequence[Change]
) -> None:
    """Write a claim's decisions in one statement; sends are leased to `worker_id`."""
    if not changes:
        return
    await conn.execute(
        queries.get("apply_claim_decisions"),
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
        queries.get("update_counted_windows"),
        now,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [remaining[k] for k in keys],
    )
