"""The expansion of a batched message (a service `all` mass, issue 19): its audience cut into
`mass_batches` rows of up to 10,000 openids, every recipient's unit taken in the same
statement; a batch rebased into a new month; a lone recipient sent as one delivery.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import asyncpg

from gateway.domain import kinds, periods
from gateway.store import pool, queries, quota_units
from gateway.store.message_status import Transition, refresh_messages

BATCH_MAX = 10_000  # mass/send takes 2 to 10,000 openids
UNIT_LIMIT = periods.MASS_LIMIT[kinds.AccountKind.SERVICE]  # units a follower has a month
EMPTY_AUDIENCE = "the audience has no subscribed followers"
# The expansion writes a unit row per recipient: a million take several seconds, past the
# pool's 30 s command timeout on a loaded machine.
EXPAND_TIMEOUT = 300.0


async def end_unexpanded(
    conn: pool.Connection,
    key: tuple[str, int],
    status: str,
    reason: str | None,
    errmsg: str | None,
    now: dt.datetime,
) -> list[Transition]:
    rows = await conn.fetch(
        queries.get("end_unexpanded_message"), key[0], key[1], status, reason, errmsg, now
    )
    return [
        Transition(r["account_id"], r["message_id"], r["status"], r["reason"], r["created_at"])
        for r in rows
    ]


async def _lone(
    conn: pool.Connection,
    account_id: str,
    message_id: int,
    openid: str,
    month: dt.date,
    now: dt.datetime,
) -> None:
    """mass/send needs two openids: a lone recipient gives its unit back and goes out as one
    delivery, which the claim decides (and charges) like any other."""
    unit = quota_units.Unit(quota_units.FOLLOWER_MONTH, account_id, openid, month)
    await quota_units.give_back_units(conn, [unit])
    await conn.execute(queries.get("lone_delivery"), account_id, message_id, openid, now)


async def _expand(
    conn: pool.Connection,
    key: tuple[str, int],
    month: dt.date,
    now: dt.datetime,
    held_until: dt.datetime | None,
) -> asyncpg.Record:
    """The expansion's statement: the fast form (new unit rows by a plain INSERT) in a
    savepoint; if another transaction added a unit row of one of these followers meanwhile,
    the upsert form, which waits for such rows and takes each unit conditionally."""
    args = (*key, month, UNIT_LIMIT, BATCH_MAX, now, held_until)
    try:
        async with conn.transaction():
            got = await conn.fetchrow(
                queries.get("expand_mass_batches"), *args, timeout=EXPAND_TIMEOUT
            )
    except asyncpg.UniqueViolationError:
        got = await conn.fetchrow(
            queries.get("expand_mass_batches_upsert"), *args, timeout=EXPAND_TIMEOUT
        )
    assert got is not None
    return got


async def expand_due(
    conn: pool.Connection, now: dt.datetime, tz: zoneinfo.ZoneInfo, limit: int
) -> tuple[int, list[Transition]]:
    """Expand due batched messages into batches, taking each recipient's unit in the same
    transaction; returns (messages expanded or ended, transitions)."""
    transitions: list[Transition] = []
    async with conn.transaction():
        rows = await conn.fetch(queries.get("lock_due_expansions"), now, limit)
        month = periods.month_key(now, tz)
        touched = []
        for r in rows:
            key = (r["account_id"], r["id"])
            if now >= r["expires_at"]:
                transitions += await end_unexpanded(conn, key, "expired", "expired", None, now)
                continue
            next_month = periods.next_month_start(now, tz)
            # Followers with no unit left wait for the next month, unless the message
            # expires first (then they expire now).
            held_until = next_month if next_month < r["expires_at"] else None
            got = await _expand(conn, key, month, now, held_until)
            total = int(got["recipients"]) + int(got["skipped"])
            if total == 0:
                transitions += await end_unexpanded(conn, key, "failed", None, EMPTY_AUDIENCE, now)
                continue
            if got["lone"] is not None:
                await _lone(conn, *key, got["lone"], month, now)
            await conn.execute(queries.get("set_message_expanded"), *key, now, total)
            touched.append(key)
        transitions += await refresh_messages(conn, touched, now)
    return len(rows), transitions


async def rebase(
    conn: pool.Connection, r: asyncpg.Record, month: dt.date, now: dt.datetime
) -> bool:
    """A batch about to be first sent in another month than its units' (or with none): its
    recipients take this month's units; False when fewer than two are left to batch."""
    key = (r["account_id"], r["message_id"], r["seq"])
    openids = list(await conn.fetchval(queries.get("rebase_batch_units"), *key, month, UNIT_LIMIT))
    if len(openids) >= 2:
        await conn.execute(queries.get("set_batch_recipients"), *key, openids, month, now)
        return True
    await conn.execute(queries.get("delete_batch"), *key)
    if openids:
        await _lone(conn, key[0], key[1], openids[0], month, now)
    return False
