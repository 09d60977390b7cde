"""The account's custom menu (SPEC 8): stored by the API, leased and applied by a worker.

Every PUT or DELETE is a new version; a worker records WeChat's answer only for the version
it sent and only while it holds the lease, so a newer request always wins and a worker that
died (its lease ran out) is taken over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import asyncpg

from gateway.store import delivery_rows, errors, queries, rows
from gateway.store import pool as pool_mod

Db = pool_mod.Connection | asyncpg.Pool


@dataclasses.dataclass(frozen=True)
class Lease:
    """A due menu this worker holds: apply `body`, or delete the menu when it is None."""

    account_id: str
    version: int
    body: dict[str, Any] | None
    attempts: int
    account: delivery_rows.Account  # what a platform call needs of the account

    @property
    def deleting(self) -> bool:
        return self.body is None


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    """The new version a PUT or DELETE stored, and its state (pending or deleting)."""

    account_id: str
    version: int
    state: str


@dataclasses.dataclass(frozen=True, slots=True)
class Menu:
    """The account's menu: `body` is the stored JSON document (None while deleting)."""

    account_id: str
    body: dict[str, Any] | None
    state: str
    version: int
    errcode: int | None
    errmsg: str | None
    attempts: int
    next_attempt_at: dt.datetime | None
    applied_at: dt.datetime | None
    updated_at: dt.datetime


async def put(db: Db, account_id: str, body: dict[str, Any]) -> Accepted:
    """Store a checked menu as pending; NotFound for an unknown account."""
    row = await db.fetchrow(queries.get("menu_put"), account_id, body)
    if row is None:
        raise errors.NotFound(f"no account {account_id!r}")
    return rows.build(Accepted, row)


async def delete(db: Db, account_id: str) -> Accepted:
    """Ask for the menu's removal; NotFound for an unknown account."""
    row = await db.fetchrow(queries.get("menu_delete"), account_id)
    if row is None:
        raise errors.NotFound(f"no account {account_id!r}")
    return rows.build(Accepted, row)


async def get(db: Db, account_id: str) -> Menu:
    row = await db.fetchrow(queries.get("menu_get"), account_id)
    if row is None:
        raise errors.NotFound("the account has no menu")
    return rows.build(Menu, row)


async def claim(db: Db, worker_id: str, lease_seconds: float) -> Lease | None:
    row = await db.fetchrow(queries.get("menu_claim"), worker_id, lease_seconds)
    if row is None:
        return None
    return Lease(
        row["account_id"],
        row["version"],
        row["body"],
        row["attempts"],
        delivery_rows.Account.from_record(row),
    )


async def _settle(db: Db, name: str, lease: Lease, worker_id: str, *args: Any) -> bool:
    """Record an answer for the leased version; otherwise give the lease back. True if
    the answer was recorded."""
    done = await db.fetchval(queries.get(name), lease.account_id, worker_id, lease.version, *args)
    if done is None:
        await release(db, lease, worker_id)
        return False
    return True


async def applied(db: Db, lease: Lease, worker_id: str) -> bool:
    name = "menu_deleted" if lease.deleting else "menu_applied"
    return await _settle(db, name, lease, worker_id)


async def failed(db: Db, lease: Lease, worker_id: str, errcode: int | None, errmsg: str) -> bool:
    return await _settle(db, "menu_failed", lease, worker_id, errcode, errmsg)


async def retry(
    db: Db, lease: Lease, worker_id: str, errcode: int | None, errmsg: str, delay: float
) -> bool:
    return await _settle(db, "menu_retry", lease, worker_id, errcode, errmsg, delay)


async def release(db: Db, lease: Lease, worker_id: str) -> None:
    await db.execute(queries.get("menu_release"), lease.account_id, worker_id)
