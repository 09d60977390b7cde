"""OAuth states: single-use, bound to the browser that asked for one, capped per account and
deleted once expired (unauthenticated requests create them, so nothing may grow unbounded)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import asyncpg

from gateway.store import pool as pool_mod
from gateway.store import queries, rows

# Expired states an insert deletes of its account: more than it adds, so an account's
# expired rows shrink as new ones come, between two runs of the retention job.
CLEAR_PER_INSERT = 20


@dataclasses.dataclass(frozen=True, slots=True)
class State:
    """Where a usable state sends the browser back to, and the scope it asked for."""

    target: str
    scope: str


async def create_state(
    db: asyncpg.Pool,
    account_id: str,
    state: str,
    target: str,
    scope: str,
    browser: str,
    max_pending: int,
) -> bool:
    """Store a state valid for 10 minutes; False (nothing stored) when the account already
    has `max_pending` unexpired, unused states. Serialized per account: the cap is exact."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(queries.get("oauth_state_lock"), account_id)
        await conn.execute(queries.get("oauth_state_clear_expired"), account_id, CLEAR_PER_INSERT)
        status = await conn.execute(
            queries.get("oauth_state_insert_capped"),
            account_id,
            state,
            target,
            scope,
            browser,
            max_pending,
        )
    return status == "INSERT 0 1"


async def peek_state(db: asyncpg.Pool, account_id: str, state: str, browser: str) -> State | None:
    """A usable state of this browser, leaving it usable."""
    row = await db.fetchrow(queries.get("oauth_state_peek"), account_id, state, browser)
    return None if row is None else rows.build(State, row)


async def consume_state(
    db: asyncpg.Pool, account_id: str, state: str, browser: str
) -> State | None:
    """Take the state once; None if it is used, expired, unknown or another browser's."""
    row = await db.fetchrow(queries.get("oauth_state_consume"), account_id, state, browser)
    return None if row is None else rows.build(State, row)


async def purge_expired(
    conn: pool_mod.Connection | asyncpg.Pool, before: dt.datetime, batch: int = 5000
) -> int:
    """Retention: delete states that expired before `before`, in batches; returns how many."""
    deleted = 0
    while True:
        status = await conn.execute(queries.get("oauth_purge_states"), before, batch)
        count = int(status.split()[-1])
        deleted += count
        if count < batch:
            return deleted
