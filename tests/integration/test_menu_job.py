"""The menu job against the mock platform (SPEC 8): applied, failed with WeChat's answer,
retried through faults and stale tokens, a newer PUT wins, a dead worker's claim is taken
over, and a delete removes the menu."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import asyncpg

from gateway.store import menus as store
from gateway.wechat import client as wx
from scheduler import credentials
from scheduler import menus as menu_job
from scheduler import options as options_mod
from tests.integration import sched_helpers as h

CREATE = "/cgi-bin/menu/create"
MENU: dict[str, Any] = {
    "button": [
        {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
        {
            "name": "菜单",
            "sub_button": [{"type": "view", "name": "搜索", "url": "https://www.soso.com/"}],
        },
    ]
}
OTHER: dict[str, Any] = {"button": [{"type": "click", "name": "Help", "key": "HELP"}]}


def job(
    pool: asyncpg.Pool, client: wx.WeChatClient, worker_id: str = "w1", **options: Any
) -> menu_job.MenuJob:
    tokens = credentials.TokenCache(pool, client, lambda: dt.datetime.now(dt.UTC))
    # No jitter by default: a retry is due again at once, so a drain runs it.
    opts = dataclasses.replace(options_mod.Options(), **{"jitter": lambda: 0.0, **options})
    return menu_job.MenuJob(pool, client, tokens, worker_id, options=opts, stopping=asyncio.Event())


async def platform_menu(mock: h.Mock, client: wx.WeChatClient, account_id: str) -> Any:
    token = await client.stable_token(h.app_id(account_id), h.secret(account_id))
    url = f"{mock.base}/cgi-bin/menu/get?access_token={token.access_token}"
    async with mock.session.get(url) as resp:
        return await resp.json()


async def test_a_menu_is_applied(pool: asyncpg.Pool, aiohttp_server: h.ServerFactory) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "sub", "subscription")
        await mock.register("sub", "subscription", sink)
        before = await pool.fetchval("SELECT now()")
        await store.put(pool, "sub", MENU)
        assert await job(pool, client).drain(timeout=30) == 1
        row = await store.get(pool, "sub")
        assert (row.state, row.errcode, row.errmsg, row.attempts) == (
            "applied",
            None,
            None,
            1,
        )
        assert row.applied_at >= before
        shown = await platform_menu(mock, client, "sub")
        assert shown["menu"]["button"] == MENU["button"]
        await mock.act("sub", "o1", "subscribe")
        await mock.act("sub", "o1", "click", key="V1001_TODAY_MUSIC")  # a key of the menu
        assert await job(pool, client).drain(timeout=30) == 0  # nothing more to do


async def test_a_permanent_error_fails_with_wechats_answer(
    pool: asyncpg.Pool, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        # Stored past the local checks (as by an older release): the platform refuses it.
        four = {"button": OTHER["button"] * 4}
        await pool.execute("INSERT INTO menus (account_id, body) VALUES ('svc', $1::jsonb)", four)
        assert await job(pool, client).drain(timeout=30) == 1
        row = await store.get(pool, "svc")
        assert (row.state, row.errcode, row.attempts) == ("failed", 40016, 1)
        assert str(row.errmsg).startswith("invalid button size")
        assert row.applied_at is None
        await mock.fault(path=CREATE, rate=1.0, errcode=48001, count=1)
        await store.put(pool, "svc", OTHER)
        await job(pool, client).drain(timeout=30)
        row = await store.get(pool, "svc")
        assert (row.state, row.errcode) == ("failed", 48001)
        assert (await platform_menu(mock, client, "svc"))["errcode"] == 46003


async def test_retryable_faults_are_retried_then_applied(
    pool: asyncpg.Pool, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await store.put(pool, "svc", MENU)
        await mock.fault(path=CREATE, rate=1.0, errcode=-1, count=1)
        slow = job(pool, client, backoff_base=3600.0, jitter=lambda: 1.0)
        assert await slow.run_once()
        row = await store.get(pool, "svc")
        assert (row.state, row.errcode, row.attempts) == ("pending", -1, 1)
        assert str(row.errmsg).startswith("system error")
        assert row.next_attempt_at > await pool.fetchval("SELECT now()")
        assert not await slow.run_once()  # not due yet: the backoff holds it
        await pool.execute("UPDATE menus SET next_attempt_at = now() WHERE account_id = 'svc'")
        for fault in ({"http_status": 503}, {"drop": True}, {"errcode": 45011}):
            await mock.fault(path=CREATE, rate=1.0, count=1, **fault)
        retried = job(pool, client)  # backoff with no jitter: due again at once
        assert await retried.drain(timeout=30) == 4
        row = await store.get(pool, "svc")
        assert (row.state, row.errcode, row.errmsg, row.attempts) == (
            "applied",
            None,
            None,
            5,
        )
        tries = [r for r in await mock.sent("svc") if r["path"] == CREATE]
        assert [r["delivered"] for r in tries] == [False, False, False, False, True]


async def test_a_stale_token_is_refreshed_and_the_call_made_again(
    pool: asyncpg.Pool, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        worker = job(pool, client)
        await store.put(pool, "svc", OTHER)
        await worker.drain(timeout=30)
        await mock.invalidate_tokens("svc")  # the cached token is now stale on the platform
        await store.put(pool, "svc", MENU)
        assert await worker.drain(timeout=30) == 1
        row = await store.get(pool, "svc")
        assert (row.state, row.attempts, row.version) == ("applied", 1, 2)
        answers = [r["errcode"] for r in await mock.sent("svc") if r["path"] == CREATE]
        assert answers == [0, 40001, 0]


async def test_a_newer_put_wins_over_the_one_in_flight(
    pool: asyncpg.Pool, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await store.put(pool, "svc", OTHER)
        first = await store.claim(pool, "w1", 60.0)
        assert first is not None and first.version == 1
        await store.put(pool, "svc", MENU)  # while version 1 is in flight
        assert await store.claim(pool, "w2", 60.0) is None  # one call per account at a time
        assert not await store.applied(pool, first, "w1")  # version 1's answer is dropped
        row = await store.get(pool, "svc")
        assert (row.state, row.version, row.body) == ("pending", 2, MENU)
        assert await job(pool, client, "w2").drain(timeout=30) == 1
        assert (await store.get(pool, "svc")).state == "applied"
        assert (await platform_menu(mock, client, "svc"))["menu"]["button"] == MENU["button"]


async def test_a_dead_workers_claim_is_taken_over(
    pool: asyncpg.Pool, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await store.put(pool, "svc", MENU)
        dead = await store.claim(pool, "w-dead", 60.0)  # then the worker was killed
        assert dead is not None
        survivor = job(pool, client, "w2")
        assert not await survivor.run_once()  # the lease still holds
        # The lease runs out (moved into the past rather than waited for).
        await pool.execute(
            "UPDATE menus SET lease_until = now() - interval '1 second' WHERE account_id = 'svc'"
        )
        assert await survivor.run_once()
        row = await store.get(pool, "svc")
        assert (row.state, row.attempts) == ("applied", 2)
        assert not await store.applied(pool, dead, "w-dead")  # the dead one's late answer
        assert (await store.get(pool, "svc")).state == "applied"


async def test_delete_removes_the_menu(pool: asyncpg.Pool, aiohttp_server: h.ServerFactory) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        worker = job(pool, client)
        await store.put(pool, "svc", MENU)
        await worker.drain(timeout=30)
        await store.delete(pool, "svc")
        await mock.fault(path="/cgi-bin/menu/delete", rate=1.0, errcode=-1, count=1)
        assert await worker.drain(timeout=30) == 2  # retried once
        assert await pool.fetchval("SELECT count(*) FROM menus") == 0
        assert (await platform_menu(mock, client, "svc"))["errcode"] == 46003


async def test_two_workers_share_the_menus(
    pool: asyncpg.Pool, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        accounts = [f"a{i}" for i in range(6)]
        for account_id in accounts:
            await h.add_account(pool, account_id, "service")
            await mock.register(account_id, "service", sink)
            await store.put(pool, account_id, MENU)
        claimed = await asyncio.gather(
            job(pool, client, "w1").drain(timeout=30), job(pool, client, "w2").drain(timeout=30)
        )
        assert sum(claimed) == len(accounts)
        states = await pool.fetch("SELECT state, attempts FROM menus")
        assert [tuple(r) for r in states] == [("applied", 1)] * len(accounts)
