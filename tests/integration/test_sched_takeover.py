"""Take-overs end: a delivery whose worker keeps dying with it fails after a few take-overs, a
take-over past `expires_at` expires instead of sending, and the expiry sweep ends abandoned
`sending` rows; a template or mass send whose earlier attempt has an unknown outcome is not
sent again once the platform's deduplication window has passed (`outcome_unknown`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from gateway.wechat import client as wx
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
SHORT = dt.timedelta(seconds=30)


class CrashingClient(wx.WeChatClient):
    """A client whose customer-service call brings the send down every time (a poison
    message): the worker logs it and leaves the row leased, as a dying worker would."""

    calls = 0

    async def send_custom(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        type(self).calls += 1
        raise RuntimeError("the send crashed")


async def _service(pool: asyncpg.Pool, mock: h.Mock, sink: str, t0: dt.datetime) -> None:
    await h.add_account(pool, "svc", "service")
    await mock.register("svc", "service", sink)
    await mock.act("svc", "u1", "subscribe")
    await h.add_followers(pool, "svc", ["u1"], window_ends_at=t0 + dt.timedelta(hours=40))


async def _abandon(pool: asyncpg.Pool, attempted_at: dt.datetime) -> None:
    """Every delivery as a worker that died mid-call leaves it: sending, lease run out."""
    await pool.execute(
        "UPDATE deliveries SET status = 'sending', leased_by = 'dead', attempts = 1,"
        " channel = CASE WHEN message_id IN (SELECT id FROM messages WHERE type = 'template')"
        " THEN 'template' ELSE 'custom' END,"
        " lease_until = $1::timestamptz + interval '60 s', attempted_at = $1, updated_at = $1",
        attempted_at,
    )


async def test_a_send_that_crashes_every_time_fails_the_fourth_time_its_lease_is_lost(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    t0 = clock()
    async with h.platform(aiohttp_server, clock) as (mock, _client, sink):
        await _service(pool, mock, sink, t0)
        (message_id,) = await h.add_messages(pool, "svc", "customer_service", [["u1"]], at=t0)
        client = CrashingClient(mock.session, mock.base, timeout=5.0)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        for _ in range(6):
            await worker.drain(timeout=10)
            clock.advance(seconds=61)  # the lease ends: the next pass takes the row over
        (row,) = await h.deliveries_of(pool, "svc", message_id)
        assert (row["status"], row["reason"], row["takeovers"]) == (
            "failed",
            "attempts_exhausted",
            4,
        )
        assert CrashingClient.calls == 4  # the first attempt and three re-sends by take-over
        assert row["attempts"] == 4 and row["unknown_since"] is not None
        message = await h.message(pool, "svc", message_id)
        assert (message["status"], message["reason"]) == ("failed", "attempts_exhausted")


async def test_a_takeover_past_expires_at_expires_without_sending(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    t0 = clock()
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await _service(pool, mock, sink, t0)
        (message_id,) = await h.add_messages(
            pool, "svc", "customer_service", [["u1"]], at=t0, expires_at=t0 + SHORT
        )
        await _abandon(pool, t0)
        clock.advance(seconds=61)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        await worker.drain(timeout=10)
        assert await mock.sent("svc") == []
        (row,) = await h.deliveries_of(pool, "svc", message_id)
        assert (row["status"], row["reason"]) == ("expired", "outcome_unknown")


async def test_the_sweep_ends_abandoned_sending_rows_past_expires_at(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    t0 = clock()
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await _service(pool, mock, sink, t0)
        (message_id,) = await h.add_messages(
            pool, "svc", "customer_service", [["u1"]], at=t0, expires_at=t0 + SHORT
        )
        await _abandon(pool, t0)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        clock.advance(seconds=31)  # past expires_at, the lease still runs: a call may be on
        assert await worker.maintenance.sweep_expired() == 0
        clock.advance(seconds=30)  # the lease has ended too
        assert await worker.maintenance.sweep_expired() == 1
        (row,) = await h.deliveries_of(pool, "svc", message_id)
        assert (row["status"], row["reason"]) == ("expired", "outcome_unknown")
        assert (await h.message(pool, "svc", message_id))["status"] == "expired"


async def _template_timing_out(
    pool: asyncpg.Pool, db_url: str, mock: h.Mock, sink: str, clock: h.Clock
) -> tuple[worker_mod.Worker, int]:
    """A template whose call times out on our side while the platform goes on and sends it."""
    t0 = clock()
    await _service(pool, mock, sink, t0)
    (message_id,) = await h.add_messages(pool, "svc", "template", [["u1"]], at=t0)
    await mock.fault(path=TEMPLATE, latency_ms=600, rate=1, count=1)
    client = wx.WeChatClient(mock.session, mock.base, timeout=0.2)
    worker = worker_mod.Worker(
        h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
    )
    await worker.drain(timeout=10)
    await mock.wait_sent("svc", 1, path=TEMPLATE)  # the platform finished it meanwhile
    row = await h.message(pool, "svc", message_id)
    assert (row["status"], row["reason"]) == ("held", "retry_backoff")
    return worker, message_id


async def test_a_template_of_unknown_outcome_is_not_sent_after_the_dedupe_window(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, _client, sink):
        worker, message_id = await _template_timing_out(pool, db_url, mock, sink, clock)
        clock.advance(minutes=15)  # the platform forgot the client_msg_id
        await worker.drain(timeout=10)
        delivered = [r for r in await mock.sent("svc") if r["delivered"]]
        assert len(delivered) == 1
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["reason"]) == ("failed", "outcome_unknown")


async def test_a_template_of_unknown_outcome_is_retried_within_the_dedupe_window(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    clock = h.Clock(dt.datetime.now(dt.UTC))
    async with h.platform(aiohttp_server, clock) as (mock, _client, sink):
        worker, message_id = await _template_timing_out(pool, db_url, mock, sink, clock)
        clock.advance(minutes=2)
        await worker.drain(timeout=10)
        log = await mock.sent("svc")
        assert [r["delivered"] for r in log] == [True, False]  # the retry was deduplicated
        assert (await h.message(pool, "svc", message_id))["status"] == "sent"


async def test_a_template_taken_over_after_the_dedupe_window_fails_outcome_unknown(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: h.ServerFactory
) -> None:
    """The result of the call could not be recorded (the database was down): the row stayed
    `sending` until its lease ended; taken over 15 minutes later, it is not sent again."""
    clock = h.Clock(dt.datetime.now(dt.UTC))
    t0 = clock()
    async with h.platform(aiohttp_server, clock) as (mock, client, sink):
        await _service(pool, mock, sink, t0)
        (message_id,) = await h.add_messages(pool, "svc", "template", [["u1"]], at=t0)
        await _abandon(pool, t0)
        clock.advance(minutes=15)
        worker = worker_mod.Worker(
            h.settings(db_url, mock.base), pool, client, worker_id="w1", clock=clock, options=h.FAST
        )
        await worker.drain(timeout=10)
        assert await mock.sent("svc") == []
        row = await h.message(pool, "svc", message_id)
        assert (row["status"], row["reason"]) == ("failed", "outcome_unknown")
