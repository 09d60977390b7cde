"""A call put back unmade (its decision went stale while it waited for its turn) leaves no
trace in the follower's counted window (wechat-2023): the count its claim took goes back to
the same allowance, so the re-decision sends what the allowance still covers; a newer
trigger's allowance is left as the trigger made it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from gateway.domain import kinds, send_outcomes, window
from gateway.store import inbound
from gateway.wechat import client as wx
from scheduler import claim, results
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

CUSTOM = "/cgi-bin/message/custom/send"
# One call at a time: the second call of a pass waits for the first.
ONE_AT_A_TIME = dataclasses.replace(
    h.FAST, limits=dataclasses.replace(h.FAST.limits, concurrency_per_account=1)
)


class SlowFirstAnswer(wx.WeChatClient):
    """WeChat answers the first customer-service call 10 s (of the test clock) late, and
    `meanwhile` runs before it answers: the call queued behind it starts with a stale
    decision."""

    def __init__(
        self,
        base: wx.WeChatClient,
        clock: h.Clock,
        meanwhile: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(base.session, base.api_base, timeout=5.0)
        self.clock = clock
        self.meanwhile = meanwhile
        self.calls = 0

    async def send_custom(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await super().send_custom(token, payload)
        self.calls += 1
        if self.calls == 1:
            self.clock.advance(seconds=10)
            if self.meanwhile is not None:
                await self.meanwhile()
        return answer


async def _setup(pool: asyncpg.Pool, mock: h.Mock, sink: str, t0: dt.datetime, left: int) -> int:
    await h.add_account(pool, "sub", "subscription", profile="wechat-2023")
    await mock.register("sub", "subscription", sink, profile="wechat-2023")
    await mock.act("sub", "u1", "subscribe")
    await mock.act("sub", "u1", "text", content="hi")  # the platform: 5 messages in 48 h
    await h.add_followers(
        pool, "sub", ["u1"], window_ends_at=t0 + dt.timedelta(hours=40), window_remaining=left
    )
    _first, second = await h.add_messages(
        pool,
        "sub",
        "customer_service",
        [["u1"], ["u1"]],
        at=t0,
        contents=[_text("one"), _text("two")],
    )
    return second


async def _remaining(pool: asyncpg.Pool) -> int | None:
    value: int | None = await pool.fetchval(
        "SELECT window_remaining FROM followers WHERE account_id = 'sub' AND openid = 'u1'"
    )
    return value


async def _trigger(pool: asyncpg.Pool, clock: h.Clock, msg_type: str, event: str | None) -> None:
    """A callback of u1 stored by the inbound path at the test clock's time."""
    at = clock()
    record = inbound.EventRecord(
        account_id="sub",
        kind=kinds.AccountKind.SUBSCRIPTION,
        profile=window.RuleProfile.WECHAT_2023,
        dedupe_key=f"{msg_type}-{event}-{at.isoformat()}",
        openid="u1",
        msg_type=msg_type,
        event=event,
        event_key="menu-1" if event else None,
        msg_id=None,
        create_time=at,
        received_at=at,
        fields={},
        scene=None,
    )
    async with pool.acquire() as conn:
        assert await inbound.store_batch(conn, [record]) == [True]


async def _first_pass(
    pool: asyncpg.Pool, db_url: str, mock: h.Mock, client: wx.WeChatClient, clock: h.Clock
) -> worker_mod.Worker:
    worker = worker_mod.Worker(
        h.settings(db_url, mock.base),
        pool,
        client,
        worker_id="w1",
        clock=clock,
        options=ONE_AT_A_TIME,
    )
    await worker.run_pass()
    return worker


async def test_a_put_back_call_gives_its_window_count_back_and_is_then_sent(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, base, sink):
        second = await _setup(pool, mock, sink, clock(), left=2)
        client = SlowFirstAnswer(base, clock)
        worker = await _first_pass(pool, db_url, mock, client, clock)
        # The second call was put back unmade: the window count it took is back.
        (row,) = await h.deliveries_of(pool, "sub", second)
        assert (row["status"], row["attempts"], row["leased_by"]) == ("queued", 0, None)
        assert await _remaining(pool) == 1
        await worker.drain(timeout=10)
        (row,) = await h.deliveries_of(pool, "sub", second)
        assert row["status"] == "sent"
        assert await _remaining(pool) == 0
        sent = [r for r in await mock.sent("sub") if r["path"] == CUSTOM]
        assert [(r["body"]["text"]["content"], r["errcode"]) for r in sent] == [
            ("one", 0),
            ("two", 0),
        ]


async def test_a_put_back_count_does_not_inflate_a_newer_triggers_allowance(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """u1 writes again while the second call waits: a fresh allowance of 5 (a new end), which
    the put-back leaves at 5."""
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, base, sink):
        second = await _setup(pool, mock, sink, clock(), left=2)

        async def writes_again() -> None:
            await _trigger(pool, clock, "text", None)

        client = SlowFirstAnswer(base, clock, writes_again)
        worker = await _first_pass(pool, db_url, mock, client, clock)
        (row,) = await h.deliveries_of(pool, "sub", second)
        assert row["status"] == "queued"
        assert await _remaining(pool) == 5
        await worker.drain(timeout=10)
        assert (await h.deliveries_of(pool, "sub", second))[0]["status"] == "sent"
        assert await _remaining(pool) == 4


async def test_a_put_back_count_is_not_added_to_an_allowance_joined_since(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """A menu click while the second call waits joins the open window (same end, count
    max(1, 3) = 3): that is what the allowance is now, with or without the unmade call."""
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, base, sink):
        ends_at = clock() + dt.timedelta(hours=40)
        await _setup(pool, mock, sink, clock(), left=3)

        async def clicks() -> None:
            await _trigger(pool, clock, "event", "CLICK")

        client = SlowFirstAnswer(base, clock, clicks)
        await _first_pass(pool, db_url, mock, client, clock)
        row = await pool.fetchrow("SELECT window_ends_at, window_remaining FROM followers")
        assert row is not None
        assert (row["window_ends_at"], row["window_remaining"]) == (ends_at, 3)


def _text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


async def test_a_late_put_back_does_not_undo_a_newer_lease_of_the_same_worker(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """A pass's put-back is written after the row's lease ran out and another pass of the same
    worker took it over: the put-back belongs to the old lease and must not queue the row
    again (it would be sent by the take-over and again by the next claim)."""
    t0 = dt.datetime.now(dt.UTC)
    tz = h.settings(db_url, "http://127.0.0.1:1").tz
    lease = dt.timedelta(seconds=2)
    async with h.platform(aiohttp_server) as (mock, _client, sink):
        await _setup(pool, mock, sink, t0, left=5)
        async with pool.acquire() as conn:
            claimed = await claim.claim(
                conn, t0, worker_id="w1", tz=tz, per_account=10, total=10, lease=lease
            )
            later = t0 + dt.timedelta(seconds=3)
            taken = await claim.take_over(conn, later, worker_id="w1", lease=lease, limit=10)
            assert len(claimed.calls) == len(taken.calls) == 2
            put_back = [(c, [(i, send_outcomes.RELEASED) for i in c.items]) for c in claimed.calls]
            planned = results.plan(put_back, later, tz, ONE_AT_A_TIME)
            written, _ = await results.record(conn, "w1", later, planned)
        assert written == set()
        rows = await pool.fetch("SELECT status, attempts, leased_by FROM deliveries")
        assert {(r["status"], r["attempts"], r["leased_by"]) for r in rows} == {
            ("sending", 2, "w1")
        }
        assert await _remaining(pool) == 3  # the take-over re-sends what the claim counted
