"""The database's clock: the one clock the installation decides by. Enqueue and wake-ups
stamp release times with it (`now()`); the workers read it here, so that every comparison of
due times, leases, windows and quota periods is made on one clock, whatever the hosts'."""

from __future__ import annotations

import datetime as dt

import asyncpg

from gateway.store import queries


async def db_now(pool: asyncpg.Pool) -> dt.datetime:
    """The database's time now."""
    now: dt.datetime = await pool.fetchval(queries.get("sched_db_clock"))
    return now
