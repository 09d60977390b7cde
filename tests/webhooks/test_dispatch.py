"""The worker's webhook delivery against a real receiver on loopback: Standard Webhooks
signatures checked by the `standardwebhooks` package, retries on the schedule, timeouts,
refused connections, per-follower order, lease takeover, disabling."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest
import standardwebhooks
from aiohttp import web

from gateway.store import webhooks as store
from tests.webhooks import hooks as h


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def receiver(aiohttp_server: Any) -> AsyncIterator[tuple[h.Receiver, str]]:
    rec = h.Receiver()
    server = await aiohttp_server(rec.app())
    yield rec, str(server.make_url("/hook"))
    rec.release.set()


@pytest.fixture(autouse=True)
async def account(pool: asyncpg.Pool) -> None:
    await h.add_account(pool)


def verify(secret: str, arrival: h.Arrival) -> Any:
    return standardwebhooks.Webhook(secret).verify(arrival.body, arrival.headers)


async def test_delivered_signed_with_the_payload(
    pool: asyncpg.Pool, db_url: str, session: aiohttp.ClientSession, receiver: Any
) -> None:
    rec, url = receiver
    ep = await h.add_endpoint(pool, url)
    await h.store(pool, [h.record(1, "oA"), h.record(2, "oB", "subscribe")])
    d = h.dispatcher(h.settings(db_url), pool, session, h.clock())
    assert await d.drain() == 2
    assert len(rec.arrivals) == 2
    payloads = [verify(ep.secret, a) for a in rec.arrivals]
    text = next(p for p in payloads if p["type"] == "message.text")
    assert text["account_id"] == "acme" and text["id"] == rec.arrivals[0].id
    assert text["id"].startswith("evt_")
    data = text["data"]
    assert data["openid"] == "oA" and data["content"] == "hello 1" and data["msg_id"] == "1"
    assert data["create_time"] == "2026-03-01T12:00:00Z"
    assert "<Content><![CDATA[hello 1]]></Content>" in data["xml"]
    assert rec.arrivals[0].headers["content-type"] == "application/json"
    sub = next(p for p in payloads if p["type"] == "event.subscribe")
    assert sub["data"]["openid"] == "oB" and sub["data"]["event"] == "subscribe"
    rows = await h.attempts(pool)
    assert [(r["status"], r["http_status"], r["response"]) for r in rows] == [
        ("delivered", 200, "ok")
    ] * 2
    # Nothing left: another pass attempts nothing.
    assert await d.drain() == 0


async def test_both_secrets_sign_during_a_rotation(
    pool: asyncpg.Pool, db_url: str, session: aiohttp.ClientSession, receiver: Any
) -> None:
    rec, url = receiver
    ep = await h.add_endpoint(pool, url)
    rotated = await store.rotate_secret(pool, "acme", ep.id)
    await h.store(pool, [h.record(1, "oA")])
    await h.dispatcher(h.settings(db_url), pool, session, h.clock()).drain()
    (arrival,) = rec.arrivals
    assert len(arrival.headers["webhook-signature"].split(" ")) == 2
    assert verify(ep.secret, arrival)["type"] == "message.text"
    assert verify(rotated.secret, arrival)["type"] == "message.text"
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verify("whsec_" + "QUJD" * 11, arrival)
    # After the 24 hours only the new secret signs.
    await pool.execute("UPDATE webhook_endpoints SET previous_expires_at = now() - interval '1s'")
    await h.store(pool, [h.record(2, "oA")])
    await h.dispatcher(h.settings(db_url), pool, session, h.clock()).drain()
    last = rec.arrivals[-1]
    assert len(last.headers["webhook-signature"].split(" ")) == 1
    verify(rotated.secret, last)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verify(ep.secret, last)


async def test_a_500_is_retried_on_the_schedule_with_the_same_id(
    pool: asyncpg.Pool, db_url: str, session: aiohttp.ClientSession, receiver: Any
) -> None:
    rec, url = receiver
    rec.fail_first = 2
    ep = await h.add_endpoint(pool, url)
    await h.store(pool, [h.record(1, "oA")])
    at = h.clock()
    d = h.dispatcher(h.settings(db_url), pool, session, at)
    schedule = [5.0, 10.0]
    for delay in schedule:
        assert await d.drain() == 1
        row = await pool.fetchrow("SELECT * FROM webhook_deliveries")
        assert row is not None
        wait = (row["next_attempt_at"] - at()).total_seconds()
        assert delay <= wait <= delay * 1.2 + 1e-6, (delay, wait)
        at.advance(seconds=delay - 1)
        assert await d.drain() == 0  # not due yet
        at.advance(seconds=delay * 0.2 + 1.01)
    assert await d.drain() == 1
    assert len(set(rec.ids())) == 1 and len(rec.ids()) == 3
    for arrival in rec.arrivals:
        verify(ep.secret, arrival)
    rows = await h.attempts(pool)
    assert [r["http_status"] for r in rows] == [500, 500, 200]
    assert rows[-1]["status"] == "delivered" and rows[-1]["attempts"] == 3
    assert len(rows[0]["response"]) == 1024  # the first 1 KiB of the answer


async def test_gives_up_after_the_schedule(
    pool: asyncpg.Pool, db_url: str, session: aiohttp.ClientSession, receiver: Any
) -> None:
    rec, url = receiver
    rec.fail_first = 100
    await h.add_endpoint(pool, url)
    await h.store(pool, [h.record(1, "oA")])
    at = h.clock()
    d = h.dispatcher(h.settings(db_url), pool, session, at, jitter=lambda: 0.0)
    for delay in (5, 10, 20):
        await d.drain()
        at.advance(seconds=delay)
    assert await d.drain() == 1
    assert await d.drain() == 0
    rows = await h.attempts(pool)
    assert len(rows) == 4 and rows[-1]["status"] == "failed"
    gaps = [(b["at"] - a["at"]).total_seconds() for a, b in itertools.pairwise(rows)]
    assert gaps == [5.0, 10.0, 20.0]


async def test_a_receiver_that_never_answers_times_out(
    pool: asyncpg.Pool, db_url: str, session: aiohttp.ClientSession, receiver: Any
) -> None:
    rec, url = receiver
    rec.hang = True
    await h.add_endpoint(pool, url)
    await h.store(pool, [h.record(1, "oA")])
    at = h.clock()
    d = h.dispatcher(h.settings(db_url, webhook_timeout=0.3), pool, session, at)
    assert await d.drain() == 1
    (row,) = await h.attempts(pool)
    assert row["status"] == "pending" and row["error"] == "timeout after 0.3 s"
    rec.hang = False
    rec.release.set()
    at.advance(seconds=7)
    assert await d.drain() == 1
    assert [r["status"] for r in await h.attempts(pool)] == ["delivered", "delivered"]
    assert len(set(rec.ids())) == 1


async def test_refused_connections_then_the_receiver_comes_back(
    pool: asyncpg.Pool, db_url: str, session: aiohttp.ClientSession
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await h.add_endpoint(pool, f"http://127.0.0.1:{port}/hook")
    await h.store(pool, [h.record(1, "oA"), h.record(2, "oB")])
    at = h.clock()
    d = h.dispatcher(h.settings(db_url), pool, session, at)
    assert await d.drain() == 2
    errors = [r["error"] for r in await h.attempts(pool)]
    assert all(e and "ClientConnectorError" in e for e in errors), errors
    rec = h.Receiver()
    runner = web.AppRunner(rec.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        at.advance(seconds=7)
        assert await d.drain() == 2
    finally:
        await runner.cleanup()
    assert [r["http_status"] for r in await h.attempts(pool)] == [None, 200, None, 200]
    statuses = await pool.fetch("SELECT status FROM webhook_deliveries")
    assert [r["status"] for r in statuses] == ["delivered", "delivered"]
    assert len(rec.arrivals) == 2


async def test_a_followers_events_are_first_attempted_in_stored_order(
    pool: asyncpg.Pool, db_url: str, session: aiohttp.ClientSession, receiver: Any
) -> None:
    rec, url = receiver
    await h.add_endpoint(pool, url)
    records = [h.record(n, f"o{n % 3}") for n in range(1, 31)]
    for start in range(0, 30, 7):
        await h.store(pool, records[start : start + 7])
    d = h.dispatcher(h.settings(db_url), pool, session, h.clock())
    assert await d.drain() == 30
    by_follower: dict[str, list[str]] = {}
    for arrival in rec.arrivals:
        payload = json.loads(arrival.body)
        by_follower.setdefault(payload["data"]["openid"], []).append(payload["data"]["content"])
    for openid, contents in by_follower.items():
        expected = [f"hello {n}" for n in range(1, 31) if f"o{n % 3}" == openid]
        assert contents == expected


async def test_a_dead_workers_leases_are_taken_over(
    pool: asyncpg.Pool, db_url: str, session: aiohttp.ClientSession, receiver: Any
) -> None:
    rec, url = receiver
    rec.hang = True
    await h.add_endpoint(pool, url)
    await h.store(pool, [h.record(n, f"o{n}") for n in range(1, 6)])
    at = h.clock()
    dead = h.dispatcher(h.settings(db_url), pool, session, at, worker_id="dead", lease=30)
    assert await dead.run_pass() == 5
    await rec.wait_for(5)  # its requests reached the receiver, then it died
    for task in list(dead._tasks):
        task.cancel()
    rec.hang = False
    rec.release.set()
    other = h.dispatcher(h.settings(db_url), pool, session, at, worker_id="other")
    assert await other.drain() == 0  # leased: not taken before the lease ends
    at.advance(seconds=31)
    assert await other.drain() == 5
    statuses = await pool.fetch("SELECT status, leased_by FROM webhook_deliveries")
    assert {(r["status"], r["leased_by"]) for r in statuses} == {("delivered", None)}
    # At least once, with one webhook-id per event on every attempt.
    assert len(rec.arrivals) == 10 and len(set(rec.ids())) == 5


async def test_an_endpoint_failing_too_long_is_disabled_then_enabled_again(
    pool: asyncpg.Pool, db_url: str, session: aiohttp.ClientSession, receiver: Any
) -> None:
    rec, url = receiver
    rec.fail_first = 100
    ep = await h.add_endpoint(pool, url)
    await h.store(pool, [h.record(1, "oA")])
    at = h.clock()
    cfg = h.settings(
        db_url, webhook_disable_after=dt.timedelta(seconds=12), webhook_retry_schedule="5,5,5,5"
    )
    d = h.dispatcher(cfg, pool, session, at, jitter=lambda: 0.0)
    await d.drain()
    at.advance(seconds=6)
    await d.drain()
    assert not (await store.get_endpoint(pool, "acme", ep.id)).disabled
    at.advance(seconds=6)
    await d.drain()
    row = await store.get_endpoint(pool, "acme", ep.id)
    assert row.disabled and str(row.disabled_reason).startswith("every attempt failed since ")
    at.advance(seconds=6)
    assert await d.drain() == 0  # a disabled endpoint gets nothing
    rec.fail_first = 0
    await store.update_endpoint(pool, "acme", ep.id, {"disabled": False})
    row = await store.get_endpoint(pool, "acme", ep.id)
    assert row.disabled_reason is None and row.failing_since is None
    assert await d.drain() == 1
    assert (await pool.fetchval("SELECT status FROM webhook_deliveries")) == "delivered"
