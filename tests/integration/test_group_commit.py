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
