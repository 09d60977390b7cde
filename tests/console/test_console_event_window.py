"""The event log's time filter over a large log (issue 20): a filter ending where 10,000 or
more of the callbacks it matches were received after it is read backwards from its end (the
time index, then the BRIN index for higher ids received before it), in bounded reads, and
gives the same pages as the plain query, ids and receipt times out of order included."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import asyncpg

from gateway.store import inbound_log, queries
from gateway.store import pool as pool_mod
from tests.api.apihelp import Client
from tests.api.conftest import API_TOKEN
from tests.console import data

T0 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
NEWER_MATCHING = "console_inbound_newer_matching"


async def _log(
    pool: asyncpg.Pool, count: int, every: int = 7, early: dt.timedelta = dt.timedelta(hours=3)
) -> None:
    # Callback g received at T0 + g seconds, except every `every`th, received `early` earlier
    # (ids and receipt times disagree), 30% of them CLICK events.
    await pool.execute(
        "INSERT INTO inbound_events (account_id, dedupe_key, openid, msg_type, event,"
        "                            create_time, received_at, fields)"
        " SELECT 'acme', 'w:' || g, 'oWin' || (g % 50), CASE WHEN g % 10 < 3 THEN 'event'"
        "        ELSE 'text' END, CASE WHEN g % 10 < 3 THEN 'CLICK' END, r, r, '{}'"
        "   FROM generate_series(1, $1) AS g,"
        "        LATERAL (SELECT $2::timestamptz + g * interval '1 second'"
        "                        - CASE WHEN g % $3 = 0 THEN $4 ELSE interval '0' END AS r) AS t",
        count,
        T0,
        every,
        early,
    )


async def _truth(
    pool: asyncpg.Pool, where: inbound_log.Filter, before: int | None, limit: int
) -> list[int]:
    rows = await pool.fetch(
        "SELECT id FROM inbound_events WHERE account_id = 'acme'"
        "   AND ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR msg_type = $2)"
        "   AND ($3::text IS NULL OR lower(event) = $3)"
        "   AND ($4::timestamptz IS NULL OR received_at >= $4) AND received_at < $5"
        " ORDER BY id DESC LIMIT $6",
        before,
        where.msg_type,
        where.event,
        where.since,
        where.until,
        limit,
    )
    return [r["id"] for r in rows]


async def test_a_window_far_back_reads_the_window_and_pages_as_the_plain_query(
    client: Client, pool: asyncpg.Pool
) -> None:
    await data.seed(client, pool, "acme")
    await _log(pool, 30_000)
    await pool.execute("ANALYZE inbound_events")
    since, until = T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=3)
    middle = T0 + dt.timedelta(seconds=12_000)  # 55% of the log received after it
    # Each filter with the reads it gets: from the end backwards when 10,000 or more of the
    # callbacks it matches were received after the end (over 11,000 text messages after
    # each end), by id when fewer (under 5,300 CLICKs: the walk on the type index is short).
    windows = [
        (inbound_log.Filter(since=since, until=until), "before_until"),
        (inbound_log.Filter(until=until), "before_until"),
        (inbound_log.Filter(msg_type="text", since=since, until=until), "before_until"),
        (inbound_log.Filter(msg_type="event", event="click", since=since, until=until), "by_id"),
        (inbound_log.Filter(until=middle), "before_until"),
        (inbound_log.Filter(msg_type="text", until=middle), "before_until"),
        (inbound_log.Filter(msg_type="event", event="click", until=middle), "by_id"),
    ]
    # Cursors: none, far below the end (a deep page), on a callback received after the end.
    starts: list[tuple[inbound_log.Filter, str, int | None]] = [(w, p, None) for w, p in windows]
    starts += [(*windows[4], 3_000), (*windows[4], 25_000), (*windows[5], 4_000)]
    for where, plan, start in starts:
        assert await inbound_log._plan(pool, "acme", where) == plan, where
        before = start
        for _ in range(3):  # three keyset pages, each as the plain query gives it
            got = [r.id for r in await inbound_log.list_events(pool, "acme", where, before, 50)]
            plain = await pool.fetch(
                queries.get("console_inbound_list"),
                "acme",
                before,
                None,
                where.msg_type,
                where.event,
                where.since,
                where.until,
                50,
            )
            assert got == [r["id"] for r in plain] == await _truth(pool, where, before, 50)
            assert len(got) == 50
            before = got[-1]
    # A window near the end of the log is walked by id from the newest.
    recent = inbound_log.Filter(since=T0 + dt.timedelta(hours=8), until=T0 + dt.timedelta(hours=9))
    assert await inbound_log._plan(pool, "acme", recent) == "by_id"
    # Through the page: the window's 50 newest callbacks by id, the newest first.
    await data.sign_in(client, API_TOKEN)
    resp = await client.get(
        "/console/accounts/acme/events?since=2026-06-01T02:00&until=2026-06-01T03:00"
    )
    assert resp.status == 200
    times = re.findall(r"<time>([^<]+)</time>", await resp.text())
    truth = await pool.fetch(
        "SELECT received_at FROM inbound_events WHERE id = ANY($1::bigint[]) ORDER BY id DESC",
        await _truth(pool, windows[0][0], None, 50),
    )
    assert times == [r["received_at"].strftime("%Y-%m-%d %H:%M:%S UTC") for r in truth]


async def _explain(conn: pool_mod.Connection, sql: str, *args: Any) -> int:
    """The shared buffers (hit or read) `sql` touches, from EXPLAIN (ANALYZE, BUFFERS)."""
    plan = await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args)
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return int(top["Shared Hit Blocks"] + top["Shared Read Blocks"])


class _Reads:
    """A connection that runs each read under EXPLAIN (ANALYZE, BUFFERS) first and adds up the
    buffers the page's reads touch (the plan choice's count aside)."""

    def __init__(self, conn: pool_mod.Connection) -> None:
        self.conn, self.buffers = conn, 0

    def transaction(self) -> Any:
        return self.conn.transaction()

    async def execute(self, sql: str, *args: Any) -> Any:
        return await self.conn.execute(sql, *args)

    async def _count(self, sql: str, args: tuple[Any, ...]) -> None:
        if sql not in (queries.get(q) for q in ("console_inbound_newer", NEWER_MATCHING)):
            self.buffers += await _explain(self.conn, sql, *args)

    async def fetch(self, sql: str, *args: Any) -> Any:
        await self._count(sql, args)
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        await self._count(sql, args)
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self._count(sql, args)
        return await self.conn.fetchval(sql, *args)


async def test_only_an_until_far_back_reads_a_bounded_part_of_the_log(pool: asyncpg.Pool) -> None:
    # 200,000 callbacks, ids ascending with receipt times but every 100th received 20 s
    # early (as concurrent callbacks are); 120,000 of them received after `until`.
    await _log(pool, 200_000, every=100, early=dt.timedelta(seconds=20))
    await pool.execute("ANALYZE inbound_events")
    # What autosummarize (or VACUUM) does with each full block range soon after.
    await pool.execute("SELECT brin_summarize_new_values('inbound_events_console_late_idx')")
    where = inbound_log.Filter(until=T0 + dt.timedelta(seconds=80_000))
    async with pool.acquire() as conn:
        reads: Any = _Reads(conn)  # list_events takes it for the connection
        before = None
        for _ in range(3):  # three keyset pages, each as the plain query gives it
            got = [r.id for r in await inbound_log.list_events(reads, "acme", where, before, 50)]
            assert got == await _truth(pool, where, before, 50)
            assert len(got) == 50
            before = got[-1]
        plain = await _explain(
            conn,
            queries.get("console_inbound_list"),
            "acme",
            None,
            None,
            None,
            None,
            None,
            where.until,
            50,
        )
    # The plain query walks the 120,000 newer callbacks (2,184 buffers for one page when
    # written); the three pages read near the end on the time index, a BRIN block range or
    # two and their 150 rows (98 buffers; 4,272 when the window's ids were all read).
    assert plain > 1_500, (plain, reads.buffers)
    assert reads.buffers < 400, (plain, reads.buffers)
