"""The passive reply stored with its event (SPEC 8): the seed one-statement path and the
general path give back, for a retry, the reply the event was first stored with, also when
that first copy committed while this statement waited on its row lock."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import asyncpg
import pytest

from gateway.domain import window
from gateway.store import inbound
from gateway.store import pool as pool_mod
from tests import wx
from tests.integration import test_ingest_sql as ingest

PROFILES = [window.RuleProfile.SEED, window.RuleProfile.WECHAT_2023]


def _record(n: int, profile: window.RuleProfile, reply: str | None) -> inbound.EventRecord:
    base = ingest.record(n, "o1", 0, 0, profile)  # a text message
    return dataclasses.replace(base, reply_xml=reply)


@pytest.mark.parametrize("profile", PROFILES)
async def test_a_retry_gets_the_first_reply(
    pool: asyncpg.Pool, profile: window.RuleProfile
) -> None:
    await wx.insert_account(pool, rule_profile=profile.value)
    async with pool.acquire() as conn:
        first = await inbound.store_batch_replies(conn, [_record(1, profile, "<xml>A</xml>")])
        assert first == [inbound.Stored(True, "<xml>A</xml>")]
        retry = await inbound.store_batch_replies(conn, [_record(1, profile, "<xml>B</xml>")])
        assert retry == [inbound.Stored(False, "<xml>A</xml>")]
        # Within one batch: the second copy is a retry of the first, with its reply.
        both = await inbound.store_batch_replies(
            conn, [_record(2, profile, "<xml>C</xml>"), _record(2, profile, "<xml>D</xml>")]
        )
        assert both == [inbound.Stored(True, "<xml>C</xml>"), inbound.Stored(False, "<xml>C</xml>")]
        none = await inbound.store_batch_replies(conn, [_record(3, profile, None)])
        assert none == [inbound.Stored(True, None)]
        again = await inbound.store_batch_replies(conn, [_record(3, profile, "<xml>E</xml>")])
        assert again == [inbound.Stored(False, None)]  # answered success: success again
    stored = await pool.fetch("SELECT dedupe_key, reply_xml FROM inbound_events ORDER BY id")
    assert [(r["dedupe_key"], r["reply_xml"]) for r in stored] == [
        ("k1", "<xml>A</xml>"),
        ("k2", "<xml>C</xml>"),
        ("k3", None),
    ]


async def _waiting_for_lock(pool: asyncpg.Pool, pid: int) -> None:
    for _ in range(500):
        state = await pool.fetchval(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
        )
        if state == "Lock":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the duplicate's statement never waited for the first copy's row")


@pytest.mark.parametrize("profile", PROFILES)
async def test_a_concurrent_duplicate_gets_the_reply_committed_while_it_waited(
    pool: asyncpg.Pool, db_url: str, profile: window.RuleProfile
) -> None:
    await wx.insert_account(pool, rule_profile=profile.value)
    first = await pool_mod.create(db_url, size=1)
    second = await pool_mod.create(db_url, size=1)
    try:
        async with first.acquire() as a, second.acquire() as b:
            tx = a.transaction()
            await tx.start()
            at = dt.datetime.now(dt.UTC)
            await a.execute(
                "INSERT INTO inbound_events (account_id, dedupe_key, openid, msg_type,"
                " create_time, received_at, fields, reply_xml)"
                " VALUES ('acme', 'k1', 'o1', 'text', $1, $1, '{}', '<xml>first</xml>')",
                at,
            )
            pid = await b.fetchval("SELECT pg_backend_pid()")
            task = asyncio.create_task(
                inbound.store_batch_replies(b, [_record(1, profile, "<xml>second</xml>")])
            )
            await _waiting_for_lock(pool, pid)
            await tx.commit()
            assert await asyncio.wait_for(task, 10) == [inbound.Stored(False, "<xml>first</xml>")]
    finally:
        await first.close()
        await second.close()
