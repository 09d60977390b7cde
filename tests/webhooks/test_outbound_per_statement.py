"""outbound.* events are written once per statement that appends message transitions (one
set-based insert), not by a trigger call per transition: the recompute of a pass appends a
transition for each of hundreds of customer-service messages (README "Performance")."""

from __future__ import annotations

import asyncpg

from gateway.store import pool as pool_mod
from tests.webhooks.test_outbox_sql import account, endpoint  # noqa: F401


async def _messages(pool: asyncpg.Pool, n: int) -> list[int]:
    rows = await pool.fetch(
        "INSERT INTO messages (account_id, type, recipient, content, expires_at, errcode)"
        " SELECT 'acme', 'customer_service', 'o' || g, '{}', now() + interval '1 day',"
        "        CASE WHEN g % 2 = 1 THEN 45015 END"
        "   FROM generate_series(1, $1) AS g RETURNING id",
        n,
    )
    return sorted(r["id"] for r in rows)


async def _append(conn: pool_mod.Connection, rows: list[tuple[int, str, str | None]]) -> None:
    await conn.execute(
        "INSERT INTO message_transitions (account_id, message_id, status, reason)"
        " SELECT 'acme', m, s, r FROM unnest($1::bigint[], $2::text[], $3::text[])"
        "   WITH ORDINALITY AS t (m, s, r, n) ORDER BY n",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )


async def test_one_statement_of_transitions_calls_the_outbound_trigger_once(
    pool: asyncpg.Pool,
) -> None:
    await endpoint(pool, "acme", ["outbound.*"])
    ids = await _messages(pool, 50)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL track_functions = 'pl'")
        await _append(conn, [(m, "sent", None) for m in ids])
        calls = await conn.fetchval(
            "SELECT coalesce(sum(f.calls), 0) FROM pg_stat_xact_user_functions f"
            "  JOIN pg_trigger t ON t.tgfoid = f.funcid"
            " WHERE t.tgname = 'message_transitions_webhooks'"
        )
    assert calls == 1
    assert await pool.fetchval("SELECT count(*) FROM webhook_events") == 50


async def test_a_statement_of_transitions_writes_the_events_a_row_at_a_time_would(
    pool: asyncpg.Pool,
) -> None:
    every = await endpoint(pool, "acme", None)
    failed = await endpoint(pool, "acme", ["outbound.failed"])
    await endpoint(pool, "acme", ["outbound.*"], disabled=True)
    await endpoint(pool, "other", None)  # another account's endpoint sees nothing
    a, b, c = await _messages(pool, 3)
    async with pool.acquire() as conn:
        await _append(conn, [(a, "sent", None)])
        await _append(
            conn,
            [
                (b, "queued", None),  # not an outcome
                (a, "sent", None),  # the same status again: no new event
                (c, "failed", "x"),
                (b, "expired", "y"),
                (c, "failed", "z"),  # a reason change in the same statement: none either
            ],
        )
    events = await pool.fetch(
        "SELECT id, type, openid, data FROM webhook_events WHERE account_id = 'acme' ORDER BY id"
    )
    assert [(e["type"], e["data"]["message_id"]) for e in events] == [
        ("outbound.sent", a),
        ("outbound.failed", c),
        ("outbound.expired", b),
    ]
    fail = events[1]
    assert fail["openid"] == "o3"
    assert fail["data"] == {
        "message_id": c,
        "message_type": "customer_service",
        "to": "o3",
        "audience": None,
        "status": "failed",
        "reason": "x",
        "errcode": 45015,
        "errmsg": None,
    }
    rows = await pool.fetch(
        "SELECT endpoint_id, event_id, event_type, openid FROM webhook_deliveries ORDER BY id"
    )
    # In stored order; one event's deliveries in endpoint id order.
    by_id = {e["id"]: e for e in events}
    assert [(r["endpoint_id"], r["event_type"], r["openid"]) for r in rows] == [
        (every, "outbound.sent", "o1"),
        *sorted([(every, "outbound.failed", "o3"), (failed, "outbound.failed", "o3")]),
        (every, "outbound.expired", "o2"),
    ]
    assert all(by_id[r["event_id"]]["type"] == r["event_type"] for r in rows)


async def _seq_scans(conn: pool_mod.Connection) -> dict[str, int]:
    await conn.execute("SELECT pg_stat_force_next_flush()")
    rows = await conn.fetch(
        "SELECT relname, seq_scan FROM pg_stat_user_tables"
        " WHERE relname IN ('messages', 'message_transitions')"
    )
    return {r["relname"]: r["seq_scan"] for r in rows}


async def test_outcomes_are_looked_up_by_key_on_tables_never_analysed(
    pool: asyncpg.Pool,
) -> None:
    # 0043's trigger let the planner join the statement's transitions to message_transitions
    # and messages by scanning them whole when they had no statistics yet (a fresh database
    # filling up): 31 ms a 24-row statement at 20,000 messages, against 2.6 ms by key (0044).
    await endpoint(pool, "acme", ["outbound.*"])
    ids = await _messages(pool, 20_000)
    await pool.execute(
        "INSERT INTO message_transitions (account_id, message_id, status)"
        " SELECT 'acme', m, s FROM unnest($1::bigint[]) AS m, unnest(ARRAY['queued', 'sending']) s",
        ids,
    )
    async with pool.acquire() as conn:
        before = await _seq_scans(conn)
        await _append(conn, [(m, "sent", None) for m in ids[100:124]])
        await _append(conn, [(m, "sending", None) for m in ids[200:224]])
        after = await _seq_scans(conn)
    assert {t: after[t] - before[t] for t in before} == {"messages": 0, "message_transitions": 0}
    events = await pool.fetchval("SELECT count(*) FROM webhook_events WHERE type = 'outbound.sent'")
    assert events == 24
