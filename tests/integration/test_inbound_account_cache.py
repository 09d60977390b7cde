"""The callback path's account cache against the database: one query per expiry however many
callbacks arrive at once, and a reload that does not re-read an unchanged rule set."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from gateway.api import account_cache
from gateway.store import callback_accounts
from gateway.store import replies as reply_store
from tests import wx

RULES = {
    "rules": [
        {
            "name": "hello",
            "match": {"on": "text", "keyword": "hello", "mode": "prefix"},
            "reply": {"msgtype": "text", "text": {"content": "hi"}},
        }
    ]
}


class CountingPool:
    """The real pool, counting the account rows it is asked for (and letting them wait for
    `gate`, so that concurrent misses really overlap)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.fetches = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.fetches += 1
        await self.gate.wait()
        return await self._pool.fetchrow(sql, *args)


async def test_concurrent_misses_share_one_account_query(pool: asyncpg.Pool) -> None:
    await wx.insert_account(pool, "acme")
    counting = CountingPool(pool)
    cache = account_cache.AccountCache(counting, ttl=60)  # type: ignore[arg-type]
    counting.gate.clear()
    waiters = [asyncio.ensure_future(cache.get("acme")) for _ in range(50)]
    for _ in range(5):
        await asyncio.sleep(0)  # every waiter has missed and is waiting on the query
    counting.gate.set()
    accounts = await asyncio.gather(*waiters)
    assert {a.id for a in accounts if a is not None} == {"acme"}
    assert all(a is accounts[0] for a in accounts)
    assert counting.fetches == 1


async def test_a_waiter_giving_up_leaves_the_shared_load_to_the_others(
    pool: asyncpg.Pool,
) -> None:
    await wx.insert_account(pool, "acme")
    counting = CountingPool(pool)
    cache = account_cache.AccountCache(counting, ttl=60)  # type: ignore[arg-type]
    counting.gate.clear()
    first = asyncio.ensure_future(cache.get("acme"))
    second = asyncio.ensure_future(cache.get("acme"))
    for _ in range(5):
        await asyncio.sleep(0)
    first.cancel()
    counting.gate.set()
    account = await second
    assert account is not None and account.id == "acme"
    assert cache.cached("acme") == (True, account)
    assert counting.fetches == 1


async def test_forget_during_a_load_starts_a_fresh_one(pool: asyncpg.Pool) -> None:
    """A PUT of the rules forgets the entry: a callback after it never gets the answer of a
    load that began before it."""
    await wx.insert_account(pool, "acme")
    counting = CountingPool(pool)
    cache = account_cache.AccountCache(counting, ttl=60)  # type: ignore[arg-type]
    counting.gate.clear()
    before = asyncio.ensure_future(cache.get("acme"))
    for _ in range(5):
        await asyncio.sleep(0)
    cache.forget("acme")
    after = asyncio.ensure_future(cache.get("acme"))
    for _ in range(5):
        await asyncio.sleep(0)
    counting.gate.set()
    old, new = await before, await after
    assert old is not None and new is not None
    assert counting.fetches == 2
    assert cache.cached("acme") == (True, new)


async def test_a_failed_load_fails_every_waiter_and_the_next_miss_tries_again(
    pool: asyncpg.Pool,
) -> None:
    await wx.insert_account(pool, "acme")
    counting = CountingPool(pool)
    cache = account_cache.AccountCache(counting, ttl=60)  # type: ignore[arg-type]
    await pool.execute("ALTER TABLE accounts RENAME TO accounts_away")
    try:
        results = await asyncio.gather(
            *(cache.get("acme") for _ in range(3)), return_exceptions=True
        )
    finally:
        await pool.execute("ALTER TABLE accounts_away RENAME TO accounts")
    assert all(isinstance(r, asyncpg.UndefinedTableError) for r in results)
    assert cache.cached("acme") == (False, None)
    account = await cache.get("acme")
    assert account is not None and account.id == "acme"


async def test_an_unchanged_rule_set_is_not_read_again(pool: asyncpg.Pool) -> None:
    await wx.insert_account(pool, "acme")
    await reply_store.put_rules(pool, "acme", RULES)
    row = await callback_accounts.load(pool, "acme", known_rules_version=None)
    assert row is not None and row.rules_version == 1 and row.rules == RULES
    again = await callback_accounts.load(pool, "acme", known_rules_version=1)
    assert again is not None and again.rules_version == 1 and again.rules is None


async def test_a_reload_reuses_the_compiled_set_and_sees_a_new_version(
    pool: asyncpg.Pool,
) -> None:
    await wx.insert_account(pool, "acme")
    await reply_store.put_rules(pool, "acme", RULES)
    cache = account_cache.AccountCache(pool, ttl=0)  # every get reloads
    first = await cache.get("acme")
    second = await cache.get("acme")
    assert first is not None and second is not None
    assert second.replies is first.replies and not first.replies.empty
    changed = {"rules": [{**RULES["rules"][0], "name": "renamed"}]}
    await reply_store.put_rules(pool, "acme", changed)
    third = await cache.get("acme")
    assert third is not None and third.replies is not first.replies
    assert third.replies.rules.rules[0].name == "renamed"


async def test_a_load_that_hangs_gives_up_and_the_next_miss_tries_again(
    pool: asyncpg.Pool,
) -> None:
    await wx.insert_account(pool, "acme")
    counting = CountingPool(pool)
    cache = account_cache.AccountCache(counting, ttl=60, load_timeout=0.05)  # type: ignore[arg-type]
    counting.gate.clear()  # the database does not answer
    results = await asyncio.gather(*(cache.get("acme") for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, TimeoutError) for r in results)
    assert counting.fetches == 1
    counting.gate.set()
    account = await cache.get("acme")
    assert account is not None and account.id == "acme"
    assert counting.fetches == 2
