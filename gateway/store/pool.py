"""The asyncpg pool: JSON codecs and the connection settings every query relies on."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import asyncpg.pool

# What store functions take as their first argument: a bare connection or one from the pool.
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


async def _init(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            encoder=lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":")),
            decoder=json.loads,
            schema="pg_catalog",
        )


async def _reset(conn: asyncpg.Connection) -> None:
    """On release, asyncpg has already rolled back any open transaction; its default reset
    query (unlock advisory locks, CLOSE ALL, UNLISTEN *, RESET ALL) would cost one more round
    trip per acquire, a quarter of an enqueue's. Nothing of ours leaves session state on a
    pooled connection: advisory locks are transaction-scoped (pg_advisory_xact_lock), no
    cursors outlive a transaction, LISTEN has its own connection, and nothing SETs (but
    SET LOCAL, which ends with its transaction)."""


async def create(
    dsn: str, *, size: int = 10, custom_plans: bool = False, **kwargs: Any
) -> asyncpg.Pool:
    """A pool whose connections decode json/jsonb to Python values. With `custom_plans`
    every run of a statement is planned for its arguments and the tables as they are now
    (`plan_cache_mode = force_custom_plan`): a prepared statement otherwise gets, after five
    runs, a generic plan made with what the planner knew then, and keeps it until the next
    analyze of its tables."""
    kwargs.setdefault("reset", _reset)
    if custom_plans:
        settings = dict(kwargs.pop("server_settings", None) or {})
        settings["plan_cache_mode"] = "force_custom_plan"
        kwargs["server_settings"] = settings
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=_init,
        command_timeout=30,
        **kwargs,
    )
    assert pool is not None
    return pool


async def fetch_planned(db: Connection | asyncpg.Pool, sql: str, *args: Any) -> list[Any]:
    """`fetch` with a plan made for these very arguments. A query whose filters are optional
    (`$n IS NULL OR col = $n`) gets, after five runs of its prepared statement, a generic plan
    that cannot use the filter's index (a whole-table scan); a custom plan folds the NULLs
    away. SET LOCAL ends with the transaction, so the pooled connection keeps no state."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await fetch_planned(conn, sql, *args)
    async with db.transaction():
        await db.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows: list[Any] = await db.fetch(sql, *args)
    return rows
