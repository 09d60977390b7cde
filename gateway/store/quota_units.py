"""Mass quota units (SPEC 9): a follower's month or an account's day, counted in the usage
tables and taken with conditional upserts under their CHECKs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping

import asyncpg

from gateway.store import pool, queries

FOLLOWER_MONTH = "follower_month"


ACCOUNT_DAY = "account_day"


@dataclasses.dataclass(frozen=True)
class Unit:
    """One consumed mass-quota unit: a follower's month or an account's day."""

    kind: str
    account_id: str
    openid: str | None
    period: dt.date


def units_of(rows: Iterable[asyncpg.Record]) -> list[Unit]:
    """The units named by rows with quota_kind, quota_key, account_id and openid."""
    return [
        Unit(r["quota_kind"], r["account_id"], r["openid"], r["quota_key"])
        for r in rows
        if r["quota_kind"] is not None and r["quota_key"] is not None
    ]


async def follower_usage(
    conn: pool.Connection, keys: Iterable[tuple[str, str, dt.date]]
) -> dict[tuple[str, str, dt.date], int]:
    keys = list(set(keys))
    if not keys:
        return {}
    rows = await conn.fetch(
        queries.get("get_follower_usage"),
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
        queries.get("get_account_usage"), [k[0] for k in keys], [k[1] for k in keys]
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
            queries.get("consume_follower_units"),
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
            queries.get("consume_account_units"),
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
            queries.get("give_back_follower_units"),
            [u.account_id for u in followers],
            [u.openid for u in followers],
            [u.period for u in followers],
            [counts[u] for u in followers],
        )
    accounts = [u for u in counts if u.kind == ACCOUNT_DAY]
    if accounts:
        await conn.execute(
            queries.get("give_back_account_units"),
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
            queries.get("fill_account_usage"),
            [k[0] for k in keys],
            [k[1] for k in keys],
            [limit] * len(keys),
        )
