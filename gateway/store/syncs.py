"""Follower syncs (SPEC 9): one running per account, leased by one worker, resumable.

A page's followers and the cursor after it are committed in one transaction, so a worker
that dies loses at most the page it was fetching; the next worker resumes from the cursor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import asyncpg

from gateway.store import delivery_rows, errors, queries, rows
from gateway.store import pool as pool_mod

Db = pool_mod.Connection | asyncpg.Pool


SyncRunning = errors.SyncRunning


@dataclasses.dataclass(frozen=True)
class Profile:
    """One follower as `user/info/batchget` described them."""

    openid: str
    subscribed: bool
    subscribed_at: dt.datetime | None
    subscribe_scene: str | None
    qr_scene: str | None
    remark: str | None
    unionid: str | None
    tags: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Lease:
    """A running sync this worker holds."""

    account_id: str
    id: int
    next_openid: str | None
    pages: int
    followers_seen: int
    started_at: dt.datetime

    @property
    def newer_than(self) -> dt.datetime:
        """Callback-applied times at or after this beat the sync's data: the start, to the
        second, since a callback's time is its whole-second CreateTime."""
        return self.started_at.replace(microsecond=0)


@dataclasses.dataclass(frozen=True, slots=True)
class Sync:
    """A follower sync as the API and console show it."""

    account_id: str
    id: int
    status: str
    error: str | None
    errcode: int | None
    pages: int
    followers_seen: int
    total: int | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


async def start(db: Db, account_id: str) -> Sync:
    """A new running sync; SyncRunning while one runs, NotFound for an unknown account."""
    if not await db.fetchval(queries.get("api_account_exists"), account_id):
        raise errors.NotFound(f"no account {account_id!r}")
    with errors.translated():  # the one running sync per account: SyncRunning
        row = await db.fetchrow(queries.get("sync_start"), account_id)
    assert row is not None
    await db.execute(queries.get("api_notify_release"), account_id)
    return rows.build(Sync, row)


async def get(db: Db, account_id: str, sync_id: int) -> Sync:
    row = await db.fetchrow(queries.get("sync_get"), account_id, sync_id)
    if row is None:
        raise errors.NotFound("no such follower sync")
    return rows.build(Sync, row)


async def claim(db: Db, worker_id: str, lease_seconds: float) -> Lease | None:
    """Lease the oldest running sync nobody holds (or whose holder's lease ran out)."""
    row = await db.fetchrow(queries.get("sync_claim"), worker_id, lease_seconds)
    if row is None:
        return None
    return Lease(
        row["account_id"],
        row["id"],
        row["next_openid"],
        row["pages"],
        row["followers_seen"],
        row["started_at"],
    )


def _tags(values: tuple[int, ...]) -> str:
    return "{" + ",".join(str(int(v)) for v in values) + "}"


async def commit_page(
    pool: asyncpg.Pool,
    lease: Lease,
    worker_id: str,
    profiles: list[Profile],
    next_openid: str,
    total: int | None,
    lease_seconds: float,
) -> bool:
    """Upsert the page's followers and advance the cursor in one transaction; False (and
    nothing written) if this worker no longer holds the sync."""
    async with pool.acquire() as conn, conn.transaction():
        advanced = await conn.fetchval(
            queries.get("sync_advance"),
            lease.account_id,
            lease.id,
            worker_id,
            next_openid,
            len(profiles),
            total,
            lease_seconds,
        )
        if advanced is None:
            return False
        await conn.execute(
            queries.get("sync_upsert_followers"),
            lease.account_id,
            lease.newer_than,
            [p.openid for p in profiles],
            [p.subscribed for p in profiles],
            [p.subscribed_at for p in profiles],
            [p.subscribe_scene for p in profiles],
            [p.qr_scene for p in profiles],
            [p.remark for p in profiles],
            [p.unionid for p in profiles],
            [_tags(p.tags) for p in profiles],
        )
        subscribed = [p.openid for p in profiles if p.subscribed]
        await conn.execute(queries.get("sync_wake_subscribed"), lease.account_id, subscribed)
    return True


async def complete(pool: asyncpg.Pool, lease: Lease, worker_id: str) -> int | None:
    """Mark followers the list no longer has unsubscribed and finish the sync, in one
    transaction; how many were marked, or None if this worker no longer holds it."""
    async with pool.acquire() as conn, conn.transaction():
        done = await conn.fetchval(
            queries.get("sync_complete"), lease.account_id, lease.id, worker_id
        )
        if done is None:
            return None
        status = await conn.execute(
            queries.get("sync_mark_unseen"),
            lease.account_id,
            lease.newer_than,
            lease.started_at,
        )
    return int(status.split()[-1])


async def fail(
    db: Db, lease: Lease, worker_id: str, error: str, errcode: int | None = None
) -> None:
    await db.execute(
        queries.get("sync_fail"), lease.account_id, lease.id, worker_id, error, errcode
    )


async def release(db: Db, lease: Lease, worker_id: str) -> None:
    await db.execute(queries.get("sync_release"), lease.account_id, lease.id, worker_id)


async def account(db: Db, account_id: str) -> delivery_rows.Account:
    """What a sync needs of its account to call the platform."""
    row = await db.fetchrow(queries.get("sync_account"), account_id)
    if row is None:
        raise errors.NotFound(f"no account {account_id!r}")
    return delivery_rows.Account.from_record(row)
