"""Follower syncs against the mock platform (SPEC 9): pages, profiles, followers gone from the
list, one at a time per account, tokens, and platform errors mid-sync."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg
import pytest

from gateway.store import syncs
from gateway.wechat import client as wx
from scheduler import credentials
from scheduler import syncs as sync_job
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

BATCHGET = "/cgi-bin/user/info/batchget"
LEASE = dt.timedelta(seconds=30)


async def seed(mock: h.Mock, account_id: str, count: int, prefix: str) -> dict[str, Any]:
    body = {"count": count, "prefix": prefix}
    path = f"/_mock/accounts/{h.app_id(account_id)}/followers/seed"
    answer: dict[str, Any] = await mock._json("POST", path, body)
    return answer


def seeded(prefix: str, index: int) -> str:
    return prefix + str(index).zfill(28 - len(prefix))


def job(
    pool: asyncpg.Pool, client: wx.WeChatClient, worker_id: str = "w1"
) -> sync_job.FollowerSync:
    tokens = credentials.TokenCache(pool, client, lambda: dt.datetime.now(dt.UTC))
    return sync_job.FollowerSync(
        pool, client, tokens, worker_id, lease=LEASE, stopping=asyncio.Event(), retry_delay=0.01
    )


async def test_a_sync_of_25000_followers_in_three_pages(
    pool: asyncpg.Pool, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await seed(mock, "svc", 25_000, "oP")
        first, last = seeded("oP", 0), seeded("oP", 24_999)
        open_until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=10)
        await h.add_followers(pool, "svc", [first], window_ends_at=open_until)
        await h.add_followers(pool, "svc", ["ogone"])  # subscribed here, gone on the platform

        started = await syncs.start(pool, "svc")
        assert started.status == "running"
        with pytest.raises(syncs.SyncRunning):
            await syncs.start(pool, "svc")
        assert await job(pool, client).drain(timeout=60) == 1

        done = await syncs.get(pool, "svc", started.id)
        assert (done.status, done.pages, done.followers_seen) == ("completed", 3, 25_000)
        assert done.finished_at is not None and done.error is None
        counts = await pool.fetchrow(
            "SELECT count(*) FILTER (WHERE subscribed) AS subscribed,"
            " count(*) FILTER (WHERE window_ends_at IS NOT NULL) AS windows FROM followers"
        )
        assert counts is not None
        assert (counts["subscribed"], counts["windows"]) == (25_000, 1)
        rows = {
            r["openid"]: r
            for r in await pool.fetch(
                "SELECT * FROM followers WHERE openid = ANY($1)", [first, last, "ogone"]
            )
        }
        assert rows[first]["window_ends_at"] == open_until  # a sync never touches a window
        assert rows[first]["remark"] == "seed 0" and rows[first]["unionid"] == "u" + first[1:]
        assert rows[first]["subscribe_scene"] == "ADD_SCENE_SEARCH"
        assert rows[last]["subscribe_scene"] == "ADD_SCENE_OTHERS"
        assert rows[last]["window_ends_at"] is None and rows[last]["last_interaction_at"] is None
        assert rows[last]["subscribed_at"] is not None
        assert not rows["ogone"]["subscribed"] and rows["ogone"]["unsubscribed_at"] is not None
        synced_at = await pool.fetchval("SELECT followers_synced_at FROM accounts WHERE id = 'svc'")
        assert synced_at == done.finished_at
        again = await syncs.start(pool, "svc")  # a finished sync does not block a new one
        assert again.id != started.id


async def test_qr_scenes_tags_and_the_tag_list(
    pool: asyncpg.Pool, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await seed(mock, "svc", 3, "oQ")
        await mock.act("svc", "oscanner", "scan", scene="spring")
        token = await client.stable_token(h.app_id("svc"), h.secret("svc"))
        tag_id = await client.create_tag(token.access_token, "vip")
        await client.tag_members(token.access_token, tag_id, [seeded("oQ", 1), "oscanner"])
        await syncs.start(pool, "svc")
        await job(pool, client).drain(timeout=30)
        rows = {r["openid"]: r for r in await pool.fetch("SELECT * FROM followers")}
        assert rows["oscanner"]["qr_scene"] == "spring"
        assert rows["oscanner"]["subscribe_scene"] == "ADD_SCENE_QR_CODE"
        assert rows[seeded("oQ", 1)]["tags"] == [tag_id] and rows[seeded("oQ", 0)]["tags"] == []
        listed = await pool.fetch("SELECT tag_id, name, count FROM tags WHERE account_id = 'svc'")
        assert [tuple(r) for r in listed] == [(tag_id, "vip", 2)]


class FaultAfterFirstPage(wx.WeChatClient):
    """Injects a platform error on batchget once the first page is committed."""

    def __init__(self, inner: wx.WeChatClient, mock: h.Mock, errcode: int) -> None:
        super().__init__(inner.session, inner.api_base)
        self.mock, self.errcode, self.pages = mock, errcode, 0

    async def list_followers(self, token: str, next_openid: str) -> dict[str, Any]:
        self.pages += 1
        if self.pages == 2:
            await self.mock.fault(path=BATCHGET, errcode=self.errcode, count=1)
        return await super().list_followers(token, next_openid)


async def test_a_platform_error_mid_sync_fails_it_and_a_new_one_completes(
    pool: asyncpg.Pool, aiohttp_server: h.ServerFactory
) -> None:
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await seed(mock, "svc", 25_000, "oR")
        failing = await syncs.start(pool, "svc")
        await job(pool, FaultAfterFirstPage(client, mock, 45009)).drain(timeout=60)
        failed = await syncs.get(pool, "svc", failing.id)
        assert failed.status == "failed" and failed.errcode == 45009
        assert str(failed.error).startswith("45009 reach max api daily quota limit")
        assert (failed.pages, failed.followers_seen) == (1, 10_000)
        # nothing is marked unsubscribed by a sync that did not complete
        assert await pool.fetchval("SELECT count(*) FROM followers WHERE subscribed") == 10_000

        retry = await syncs.start(pool, "svc")
        await job(pool, client).drain(timeout=60)
        done = await syncs.get(pool, "svc", retry.id)
        assert (done.status, done.pages, done.followers_seen) == ("completed", 3, 25_000)
        assert await pool.fetchval("SELECT count(*) FROM followers WHERE subscribed") == 25_000


@pytest.mark.parametrize("how", ["unknown", "expired"])
async def test_unknown_and_expired_tokens_are_replaced(
    pool: asyncpg.Pool, aiohttp_server: h.ServerFactory, how: str
) -> None:
    clock = h.Clock()
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await seed(mock, "svc", 150, "oS")
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        if how == "unknown":  # e.g. the platform restarted: our cached token means nothing
            await pool.execute(
                "INSERT INTO access_tokens (account_id, token, expires_at, fetched_at, generation)"
                " VALUES ('svc', 'not-a-token', $1, now(), 1)",
                later,
            )
        else:  # a token we fetched, past its expiry on the platform's clock
            sync = job(pool, client)
            await sync.tokens.get(await syncs.account(pool, "svc"))
            clock.advance(hours=3)
            sync.tokens._tokens.clear()
        started = await syncs.start(pool, "svc")
        await job(pool, client).drain(timeout=30)
        done = await syncs.get(pool, "svc", started.id)
        assert (done.status, done.followers_seen) == ("completed", 150)
        # a call with an unknown token belongs to no account in the mock's log
        refused = [r["errcode"] for r in await mock.sent("svc") if r["errcode"]]
        assert refused == ([] if how == "unknown" else [42001])
        assert (await mock.account("svc"))["token_fetches"]["stable_token"] == (
            1 if how == "unknown" else 2
        )
        assert await pool.fetchval("SELECT token FROM access_tokens") != "not-a-token"


async def test_a_synced_follower_receives_what_waited_for_them(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """A template held `not_subscribed` for a follower wxgate had never seen is sent once a
    sync finds them subscribed (the sync wakes it; the window stays closed)."""
    async with h.platform(aiohttp_server) as (mock, client, sink):
        await h.add_account(pool, "svc", "service")
        await mock.register("svc", "service", sink)
        await seed(mock, "svc", 2, "oW")
        now = dt.datetime.now(dt.UTC)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w", options=h.FAST
        )
        await h.add_messages(pool, "svc", "template", [[seeded("oW", 1)]], at=now)
        await worker.drain(timeout=10)
        held = await pool.fetchrow("SELECT status, reason FROM deliveries")
        assert held is not None
        assert (held["status"], held["reason"]) == ("held", "not_subscribed")
        await syncs.start(pool, "svc")
        await job(pool, client).drain(timeout=30)
        await worker.drain(timeout=10)
        assert await h.delivery_statuses(pool, "svc") == {"sent": 1}
        template = [r for r in await mock.sent("svc") if r["path"].endswith("template/send")]
        assert [r["delivered"] for r in template] == [True]
