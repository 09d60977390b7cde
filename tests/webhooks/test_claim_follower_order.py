"""The claim's follower-order rule (query wh_claim) read from the lane's never-attempted rows
(sql/0046): a delivery waits while an earlier never-attempted delivery of its follower to
the same endpoint is pending outside the claim (in flight, or later in claim order), and
only then; and the indexes a new delivery row enters on the seed path."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from gateway.store import pool as pool_mod
from gateway.store import webhook_claims, webhooks
from tests.webhooks import hooks as h

LEASE = dt.timedelta(seconds=60)


@pytest.fixture(autouse=True)
async def account(pool: asyncpg.Pool) -> None:
    await h.add_account(pool)


async def _claim(conn: pool_mod.Connection, now: dt.datetime, n: int) -> list[tuple[str, int]]:
    """Take the endpoints' lanes at `now` and claim up to `n` of each: (endpoint, id) rows."""
    held = await webhook_claims.lanes(
        conn, now, now + LEASE, worker_id="w1", mine=[], held=[], take=8
    )
    rows = await webhook_claims.claim(
        conn,
        now,
        now + LEASE,
        worker_id="w1",
        wants=[(lane.account_id, lane.endpoint_id, n) for lane in held],
    )
    return sorted((r.endpoint_id, r.id) for r in rows)


async def _ids(pool: asyncpg.Pool, openid: str) -> list[int]:
    rows = await pool.fetch(
        "SELECT id FROM webhook_deliveries WHERE account_id = 'acme' AND openid = $1 ORDER BY id",
        openid,
    )
    return [r["id"] for r in rows]


async def _a1_later_in_claim_order(
    pool: asyncpg.Pool,
) -> tuple[webhooks.Endpoint, int, int, int, dt.datetime]:
    """Rows a1, b2, a3 (followers oA, oB, oA) to one endpoint, a1 due last: claim order b2,
    a3, a1 at the returned time."""
    ep = await h.add_endpoint(pool, "http://127.0.0.1:9/hook")
    await h.store(pool, [h.record(1, "oA"), h.record(2, "oB"), h.record(3, "oA")])
    a1, a3 = await _ids(pool, "oA")
    (b2,) = await _ids(pool, "oB")
    now = h.clock()() + dt.timedelta(seconds=10)
    await pool.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE account_id = 'acme' AND id = $1",
        a1,
        now - dt.timedelta(seconds=1),
    )
    return ep, a1, b2, a3, now


async def test_a_followers_next_event_waits_while_the_earlier_one_is_in_flight(
    pool: asyncpg.Pool,
) -> None:
    ep = await h.add_endpoint(pool, "http://127.0.0.1:9/hook")
    await h.store(pool, [h.record(1, "oA"), h.record(2, "oB"), h.record(3, "oA")])
    a1, a3 = await _ids(pool, "oA")
    (b2,) = await _ids(pool, "oB")
    now = h.clock()()
    async with pool.acquire() as conn:
        assert await _claim(conn, now, 1) == [(ep.id, a1)]  # leased: in flight
        assert await _claim(conn, now, 10) == [(ep.id, b2)]  # oA's second waits
        outcome = webhook_claims.Outcome("acme", a1, True, 200, None, 1.0, "", now, None)
        statuses, _ = await webhook_claims.record(conn, "w1", [outcome], dt.timedelta(days=1))
        assert statuses == {("acme", a1): "delivered"}
        assert await _claim(conn, now, 10) == [(ep.id, a3)]  # attempted: the next one goes


async def test_an_earlier_event_later_in_claim_order_holds_back_its_followers_next(
    pool: asyncpg.Pool,
) -> None:
    """A never-attempted row whose due time is later than newer rows' (two writers' clocks,
    or `retry` on a pending row) falls outside a short claim: its follower's newer row waits
    and the earlier row is claimed in its place; another follower's row does not wait."""
    ep, a1, b2, a3, now = await _a1_later_in_claim_order(pool)
    async with pool.acquire() as conn:
        # claim order: b2, a3, a1; two candidates (b2, a3), a3 is behind a1 outside them:
        # a1 is claimed in a3's place
        assert await _claim(conn, now, 2) == [(ep.id, a1), (ep.id, b2)]
        assert await _claim(conn, now, 10) == []  # a3 waits while a1 is in flight
        outcome = webhook_claims.Outcome("acme", a1, True, 200, None, 1.0, "", now, None)
        await webhook_claims.record(conn, "w1", [outcome], dt.timedelta(days=1))
        assert await _claim(conn, now, 10) == [(ep.id, a3)]


async def test_a_short_claim_held_back_takes_the_earlier_row_instead(
    pool: asyncpg.Pool,
) -> None:
    """A lane whose only candidate waits for an earlier row later in claim order (a rate-
    limited endpoint claims one or two at a time) claims that earlier row: before, the same
    held-back candidate came back at every claim and the lane sent nothing again."""
    ep, a1, b2, a3, now = await _a1_later_in_claim_order(pool)
    async with pool.acquire() as conn:
        # claim order: b2, a3, a1
        assert await _claim(conn, now, 1) == [(ep.id, b2)]
        assert await _claim(conn, now, 1) == [(ep.id, a1)]  # a3's earlier row, in its place
        assert await _claim(conn, now, 1) == []  # a3 waits for a1's attempt (in flight)
        outcome = webhook_claims.Outcome("acme", a1, True, 200, None, 1.0, "", now, None)
        await webhook_claims.record(conn, "w1", [outcome], dt.timedelta(days=1))
        assert await _claim(conn, now, 1) == [(ep.id, a3)]


async def test_a_locked_earlier_row_holds_back_its_followers_next(
    pool: asyncpg.Pool,
) -> None:
    """SKIP LOCKED passes over a row another transaction holds (a lapsed lease's former
    owner recording it, the API's retry): its follower's next row waits with it, another
    follower's does not."""
    ep = await h.add_endpoint(pool, "http://127.0.0.1:9/hook")
    await h.store(pool, [h.record(1, "oA"), h.record(2, "oB"), h.record(3, "oA")])
    a1, a3 = await _ids(pool, "oA")
    (b2,) = await _ids(pool, "oB")
    now = h.clock()()
    async with pool.acquire() as other, pool.acquire() as conn:
        async with other.transaction():
            await other.execute(
                "SELECT 1 FROM webhook_deliveries WHERE account_id = 'acme' AND id = $1"
                " FOR NO KEY UPDATE",
                a1,
            )
            assert await _claim(conn, now, 10) == [(ep.id, b2)]
        assert await _claim(conn, now, 10) == [(ep.id, a1), (ep.id, a3)]


async def test_a_followers_event_to_another_endpoint_does_not_hold_back(
    pool: asyncpg.Pool,
) -> None:
    one = await h.add_endpoint(pool, "http://127.0.0.1:9/one")
    other = await h.add_endpoint(pool, "http://127.0.0.1:9/other")
    await h.store(pool, [h.record(1, "oA"), h.record(2, "oA")])
    rows = await pool.fetch(
        "SELECT endpoint_id, id FROM webhook_deliveries WHERE account_id = 'acme' ORDER BY id"
    )
    first = {ep: min(r["id"] for r in rows if r["endpoint_id"] == ep) for ep in (one.id, other.id)}
    second = {ep: max(r["id"] for r in rows if r["endpoint_id"] == ep) for ep in (one.id, other.id)}
    now = h.clock()()
    async with pool.acquire() as conn:
        # one claim takes each lane's first row and its second (behind a row in the claim)
        assert await _claim(conn, now, 10) == sorted(
            (ep, row) for ep in (one.id, other.id) for row in (first[ep], second[ep])
        )
    await pool.execute("UPDATE webhook_deliveries SET lease_until = NULL, leased_by = NULL")
    await pool.execute(
        "UPDATE webhook_deliveries SET lease_until = now() + interval '1 hour', leased_by = 'w1'"
        " WHERE account_id = 'acme' AND id = $1",
        first[one.id],
    )
    async with pool.acquire() as conn:
        # `one`'s first is in flight: its second waits; `other`'s rows do not
        assert await _claim(conn, now, 10) == sorted(
            [(other.id, first[other.id]), (other.id, second[other.id])]
        )


async def test_a_new_delivery_enters_no_index_keyed_by_its_follower(
    pool: asyncpg.Pool,
) -> None:
    """The five indexes a new pending, never-attempted callback delivery enters: the primary
    key, the list, the callback-key hash, and the lane's queue and fresh rows (0046), the
    last two keyed by integers, each but the hash at its lane's right end. Before 0046 the
    queue index was keyed by an array of texts and the follower index by the array (account,
    endpoint, openid): an entry at a random place."""
    await h.add_endpoint(pool, "http://127.0.0.1:9/hook")
    await h.store(pool, [h.record(1, "oA")])
    rows = await pool.fetch(
        "SELECT c.relname, pg_get_expr(i.indpred, i.indrelid) AS pred,"
        "       pg_get_indexdef(i.indexrelid) AS def"
        "  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = 'webhook_deliveries'::regclass"
    )
    entered = []
    for r in rows:
        # does the stored row satisfy the index's predicate?
        pred = r["pred"] or "true"
        if await pool.fetchval(f"SELECT count(*) FROM webhook_deliveries WHERE {pred}") == 1:
            entered.append(r["relname"])
    assert sorted(entered) == [
        "webhook_deliveries_fresh_idx",
        "webhook_deliveries_inbound_hash_idx",
        "webhook_deliveries_lane_queue_idx",
        "webhook_deliveries_list_idx",
        "webhook_deliveries_pkey",
    ]
    defs = " ".join(r["def"] for r in rows)
    assert "openid" not in defs
    assert "ARRAY[account_id, endpoint_id]), next_attempt_at" not in defs
