"""The event log's time filter over a large log (issue 20): a window ending where 10,000 or
more callbacks were received after it is read from the window's ids (the time index), and
gives the same pages as the plain query, ids and receipt times out of order included."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg

from gateway.store import inbound_log, queries
from tests.api.apihelp import Client
from tests.api.conftest import API_TOKEN
from tests.console import data

T0 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


async def _log(pool: asyncpg.Pool, count: int) -> None:
    # Callback g received at T0 + g seconds, except every 7th, received 3 hours earlier
    # (ids and receipt times disagree), 30% of them CLICK events.
    await pool.execute(
        "INSERT INTO inbound_events (account_id, dedupe_key, openid, msg_type, event,"
        "                            create_time, received_at, fields)"
        " SELECT 'acme', 'w:' || g, 'oWin' || (g % 50), CASE WHEN g % 10 < 3 THEN 'event'"
        "        ELSE 'text' END, CASE WHEN g % 10 < 3 THEN 'CLICK' END, r, r, '{}'"
        "   FROM generate_series(1, $1) AS g,"
        "        LATERAL (SELECT $2::timestamptz + g * interval '1 second'"
        "                        - CASE WHEN g % 7 = 0 THEN interval '3 hours'"
        "                               ELSE interval '0' END AS r) AS t",
        count,
        T0,
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
    windows = [
        inbound_log.Filter(since=since, until=until),
        inbound_log.Filter(until=until),
        inbound_log.Filter(msg_type="event", event="click", since=since, until=until),
    ]
    for where in windows:
        assert await inbound_log._plan(pool, "acme", where) == "console_inbound_list_window"
        before = None
        for _ in range(3):  # three keyset pages, each as the plain query gives it
            got = [r["id"] for r in await inbound_log.list_events(pool, "acme", where, before, 50)]
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
    assert await inbound_log._plan(pool, "acme", recent) == "console_inbound_list"
    # Through the page: the window's 50 newest callbacks by id, the newest first.
    await data.sign_in(client, API_TOKEN)
    resp = await client.get(
        "/console/accounts/acme/events?since=2026-06-01T02:00&until=2026-06-01T03:00"
    )
    assert resp.status == 200
    times = re.findall(r"<time>([^<]+)</time>", await resp.text())
    truth = await pool.fetch(
        "SELECT received_at FROM inbound_events WHERE id = ANY($1::bigint[]) ORDER BY id DESC",
        await _truth(pool, windows[0], None, 50),
    )
    assert times == [r["received_at"].strftime("%Y-%m-%d %H:%M:%S UTC") for r in truth]
