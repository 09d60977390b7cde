"""The console benchmark's data, set-based (INSERT ... SELECT generate_series): one account
with N followers and N stored callbacks over 30 days, messages of every status and hold
reason, an endpoint with deliveries and attempts, and follower syncs."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import asyncpg

from bench import world

ACCOUNT = "con"
PREFIX = "oConsl"
DAYS = 30
# Messages per status (sent the most, so the capped counts reach their cap) and the held
# ones' reasons.
MESSAGES = {"sent": 120_000, "delivered": 5_000, "failed": 2_000, "expired": 1_000}
OTHERS = ("queued", "sending", "canceled")
REASONS = ("outside_window", "quota_exhausted", "not_subscribed")
HELD_PER_REASON = 2_000
DELIVERIES = 20_000


async def _followers(conn: asyncpg.Connection, count: int) -> None:
    # Every tenth follower's window is open (interacted in the last 48 hours).
    await conn.execute(
        "INSERT INTO followers (account_id, openid, subscribed, subscribed_at,"
        "                       last_interaction_at, last_interaction, window_ends_at, nickname)"
        " SELECT $1, $2 || lpad(g::text, $3, '0'), g % 7 <> 0, now() - interval '60 days',"
        "        now() - (g % 10) * interval '1 day', 'message',"
        "        now() - (g % 10) * interval '1 day' + interval '48 hours', 'f' || g"
        "   FROM generate_series(0, $4 - 1) AS g",
        ACCOUNT,
        PREFIX,
        world.DIGITS,
        count,
    )


async def _events(conn: asyncpg.Connection, count: int, followers: int) -> None:
    # Oldest first over DAYS days (ids ascend with received_at); 60% text, 10% image,
    # 20% subscribe, 10% CLICK events.
    await conn.execute(
        "INSERT INTO inbound_events (account_id, dedupe_key, openid, msg_type, event,"
        "                            event_key, msg_id, create_time, received_at, fields)"
        " SELECT $1, 'k:' || g, o, t.msg_type, t.event, NULL, g::text, r, r,"
        "        jsonb_build_object('ToUserName', 'gh_con', 'FromUserName', o,"
        "                           'MsgType', t.msg_type, 'Content', 'hello ' || g)"
        "   FROM generate_series(1, $2) AS g,"
        "        LATERAL (SELECT $3 || lpad((g::bigint * 7919 % $4)::text, $5, '0') AS o,"
        "                        now() - ($2 - g) * ($6 * interval '1 day' / $2) AS r) AS x,"
        "        LATERAL (SELECT CASE WHEN g % 10 < 6 THEN 'text' WHEN g % 10 = 6 THEN 'image'"
        "                             ELSE 'event' END AS msg_type,"
        "                        CASE WHEN g % 10 IN (7, 8) THEN 'subscribe'"
        "                             WHEN g % 10 = 9 THEN 'CLICK' END AS event) AS t",
        ACCOUNT,
        count,
        PREFIX,
        followers,
        world.DIGITS,
        DAYS,
    )


async def _messages(conn: asyncpg.Connection) -> None:
    insert = (
        "INSERT INTO messages (account_id, type, recipient, content, status, reason,"
        "                      expires_at, created_at)"
        " SELECT $1, 'customer_service', $2 || lpad((g % 1000)::text, $3, '0'),"
        "        jsonb_build_object('msgtype', 'text', 'text', jsonb_build_object('content',"
        "                           'hi ' || g)), $4, $5, now() + interval '1 day',"
        "        now() - g * interval '1 second'"
        "   FROM generate_series(1, $6) AS g"
    )
    for status, n in MESSAGES.items():
        await conn.execute(insert, ACCOUNT, PREFIX, world.DIGITS, status, None, n)
    for status in OTHERS:
        await conn.execute(insert, ACCOUNT, PREFIX, world.DIGITS, status, None, 500)
    for reason in REASONS:
        await conn.execute(insert, ACCOUNT, PREFIX, world.DIGITS, "held", reason, HELD_PER_REASON)


async def _webhooks(conn: asyncpg.Connection, events: int) -> str:
    endpoint = "ep_" + "c" * 24
    await conn.execute(
        "INSERT INTO webhook_endpoints (account_id, id, url, secret, failing_since)"
        " VALUES ($1, $2, 'https://hooks.example/con', 'whsec_bench', now() - interval '1 hour')",
        ACCOUNT,
        endpoint,
    )
    # The newest DELIVERIES callbacks, a third of each status, each attempted twice.
    await conn.execute(
        "INSERT INTO webhook_deliveries (account_id, endpoint_id, inbound_key, event_type,"
        "                                openid, status, attempts, created_at)"
        " SELECT $1, $2, e.dedupe_key, wxgate_inbound_type(e.msg_type, e.event), e.openid,"
        "        (ARRAY['pending', 'delivered', 'failed'])[1 + e.id % 3], 2, e.received_at"
        "   FROM inbound_events e WHERE e.account_id = $1 AND e.id > $3 ORDER BY e.id",
        ACCOUNT,
        endpoint,
        events - DELIVERIES,
    )
    await conn.execute(
        "INSERT INTO webhook_attempts (account_id, delivery_id, at, http_status, latency_ms,"
        "                              response)"
        " SELECT d.account_id, d.id, d.created_at + k * interval '1 second',"
        "        CASE WHEN d.status = 'delivered' AND k = 2 THEN 200 ELSE 500 END, 12.5,"
        "        repeat('x', 200)"
        "   FROM webhook_deliveries d, generate_series(1, 2) AS k WHERE d.account_id = $1",
        ACCOUNT,
    )
    return endpoint


async def _syncs(conn: asyncpg.Connection, followers: int) -> None:
    await conn.execute(
        "INSERT INTO follower_syncs (account_id, status, pages, followers_seen, total,"
        "                            started_at, finished_at)"
        " SELECT $1, 'completed', $2 / 10000, $2, $2, now() - g * interval '1 day',"
        "        now() - g * interval '1 day' + interval '10 minutes'"
        "   FROM generate_series(1, 40) AS g",
        ACCOUNT,
        followers,
    )


async def seed(url: str, followers: int, events: int) -> dict[str, float]:
    """Seed the account; returns the seconds each part took (and the VACUUM ANALYZE)."""
    conn = await asyncpg.connect(url)
    took: dict[str, float] = {}
    try:
        await world.sql_account(conn, ACCOUNT)
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("followers", lambda: _followers(conn, followers)),
            ("events", lambda: _events(conn, events, followers)),
            ("messages", lambda: _messages(conn)),
            ("webhooks", lambda: _webhooks(conn, events)),
            ("syncs", lambda: _syncs(conn, followers)),
        ]
        for name, step in steps:
            began = time.monotonic()
            await step()
            took[name] = round(time.monotonic() - began, 1)
        began = time.monotonic()
        # What autovacuum does to a table this size soon after: visibility map and stats.
        await conn.execute("VACUUM ANALYZE")
        took["vacuum_analyze"] = round(time.monotonic() - began, 1)
    finally:
        await conn.close()
    return took


def openid(n: int) -> str:
    return world.openid(PREFIX, n)
