"""The group committer's writers: one follower's events are stored in the order they came,
whichever writer takes them, while batches of other followers commit alongside."""

from __future__ import annotations

import asyncio

import asyncpg

from gateway.domain import window
from gateway.store import group_commit
from tests.integration.test_ingest_sql import record

SUBSCRIBE, UNSUBSCRIBE = 1, 3


async def test_each_followers_events_keep_their_order_across_writers(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
        " VALUES ('acme', 'service', 'wxacme', 's', 't', 'k')"
    )
    committer = group_commit.GroupCommitter(pool, writers=4, max_batch=7)
    committer.start()
    openids = [f"o{i}" for i in range(12)]
    futures = []
    try:
        # Every follower subscribes and unsubscribes in turn, all with the same CreateTime:
        # only the order of arrival says which came last. Followers end on alternate events.
        for step in range(20):
            for i, openid in enumerate(openids):
                if step == 19 and i % 2:
                    continue
                kind = SUBSCRIBE if step % 2 == 0 else UNSUBSCRIBE
                n = step * 100 + i
                rec = record(n, openid, kind, 0, window.RuleProfile.SEED)
                futures.append(committer.submit(rec))
            await asyncio.sleep(0)
        assert all(await asyncio.gather(*futures))
    finally:
        await committer.stop()
    rows = await pool.fetch("SELECT openid, subscribed FROM followers")
    # Odd followers' last event is step 18's subscribe; even ones' is step 19's unsubscribe.
    assert {r["openid"]: r["subscribed"] for r in rows} == {
        o: bool(i % 2) for i, o in enumerate(openids)
    }
    assert await pool.fetchval("SELECT count(*) FROM inbound_events") == len(futures)


async def test_waiters_past_their_deadline_fail_on_one_timer_and_are_stored_anyway(
    pool: asyncpg.Pool,
) -> None:
    """A callback whose commit is not done by its deadline is answered 503 (TimeoutError);
    its event stays queued and is stored, so WeChat's retry is a duplicate. The deadlines of
    all waiting callbacks share one timer (a timer per callback cost more than its commit's
    share of the batch)."""
    await pool.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
        " VALUES ('acme', 'service', 'wxacme', 's', 't', 'k')"
    )
    loop = asyncio.get_running_loop()
    committer = group_commit.GroupCommitter(pool, writers=2)
    committer.start()
    blocker = await pool.acquire()
    try:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE inbound_events IN EXCLUSIVE MODE")
        timers_before = len(loop._scheduled)  # type: ignore[attr-defined]
        deadline = loop.time() + 0.3
        futures = [
            committer.submit(record(n, f"o{n}", SUBSCRIBE, 0, window.RuleProfile.SEED), deadline)
            for n in range(50)
        ]
        assert len(loop._scheduled) - timers_before <= 1  # type: ignore[attr-defined]
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert all(isinstance(r, TimeoutError) for r in results)
        await tx.rollback()
    finally:
        await pool.release(blocker)
        await committer.stop()
    assert await pool.fetchval("SELECT count(*) FROM inbound_events") == 50


async def test_a_commit_within_its_deadline_resolves_and_leaves_no_timer_behind(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
        " VALUES ('acme', 'service', 'wxacme', 's', 't', 'k')"
    )
    loop = asyncio.get_running_loop()
    committer = group_commit.GroupCommitter(pool, writers=2)
    committer.start()
    try:
        later = loop.time() + 30
        sooner = loop.time() + 20  # out of order: the timer follows the earliest
        first = committer.submit(record(1, "o1", SUBSCRIBE, 0, window.RuleProfile.SEED), later)
        second = committer.submit(record(2, "o2", SUBSCRIBE, 0, window.RuleProfile.SEED), sooner)
        assert [bool(s) for s in await asyncio.gather(first, second)] == [True, True]
        assert committer.deadline_timer_at() == sooner
        third = committer.submit(record(3, "o3", SUBSCRIBE, 0, window.RuleProfile.SEED), None)
        assert bool(await third)
    finally:
        await committer.stop()
    assert committer.deadline_timer_at() is None  # stopped: nothing left armed
