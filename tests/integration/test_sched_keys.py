"""Idempotency keys are unique for the life of the installation: after a database restore or
a sequence reset repeats delivery ids, a new red pack, template or mass send never reuses
the key of an old one (WeChat would answer with the old result and send nothing)."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg

from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

REDPACK = "/mmpaymkttransfers/sendredpack"
TEMPLATE = "/cgi-bin/message/template/send"
RED_PACK = {"red_pack": {"amount": 100, "wishing": "Thanks", "act_name": "Spring"}}


async def _reset(pool: asyncpg.Pool) -> None:
    """What a restore from an older backup does to the ids: they are handed out again."""
    await pool.execute("DELETE FROM messages")
    await pool.execute("ALTER TABLE deliveries ALTER COLUMN id RESTART WITH 1")
    await pool.execute("ALTER TABLE messages ALTER COLUMN id RESTART WITH 1")


async def test_a_red_pack_after_a_sequence_reset_gets_a_new_mch_billno(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "shop", "service")
        await pool.execute("UPDATE accounts SET pay_mch_id = '1900000109' WHERE id = 'shop'")
        await mock.register("shop", "service", sink)
        await mock.act("shop", "u1", "subscribe")
        await h.add_followers(pool, "shop", ["u1"])
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", options=h.FAST
        )
        for _ in range(2):
            now = dt.datetime.now(dt.UTC)
            await h.add_messages(pool, "shop", "red_pack", [["u1"]], at=now, content=RED_PACK)
            await h.add_messages(pool, "shop", "template", [["u1"]], at=now)
            await worker.drain(timeout=10)
            assert await h.delivery_statuses(pool, "shop") == {"sent": 2}
            await _reset(pool)
        log = await mock.sent("shop")
        red_packs = [r for r in log if r["path"] == REDPACK]
        templates = [r for r in log if r["path"] == TEMPLATE]
        assert [r["delivered"] for r in red_packs] == [True, True]
        assert [r["delivered"] for r in templates] == [True, True]
        billnos = [r["body"]["mch_billno"] for r in red_packs]
        assert billnos[0] != billnos[1]
        assert all(re.fullmatch(r"[0-9A-Za-z]{1,28}", b) for b in billnos)
        keys = [r["body"]["client_msg_id"] for r in templates]
        assert keys[0] != keys[1] and all(len(k.encode()) <= 64 for k in keys)
