"""The delivery log with attempts, retry of one delivery, replay with the original ids, and
the stored callbacks read as payloads (`/inbound`), all through the HTTP API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from gateway.store import webhooks
from tests.api.apihelp import Client, create_account
from tests.api.conftest import AUTH
from tests.webhooks import hooks as h


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def get(client: Client, path: str) -> Any:
    resp = await client.get(path, headers=AUTH)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_log_retry_replay_and_inbound(
    client: Client,
    pool: asyncpg.Pool,
    db_url: str,
    session: aiohttp.ClientSession,
    aiohttp_server: Any,
) -> None:
    rec = h.Receiver()
    rec.fail_first = 1
    server = await aiohttp_server(rec.app())
    await create_account(client)
    ep = await h.add_endpoint(pool, str(server.make_url("/hook")))
    base = f"/api/v1/accounts/acme/endpoints/{ep.id}"
    await h.store(pool, [h.record(1, "oA"), h.record(2, "oB", "subscribe"), h.record(3, "oA")])
    page = await get(client, base + "/deliveries")
    assert [d["status"] for d in page["items"]] == ["pending"] * 3
    assert all(d["attempts"] == [] for d in page["items"])

    at = h.clock()
    d = h.dispatcher(h.settings(db_url), pool, session, at)
    await d.drain()
    page = await get(client, base + "/deliveries?status=pending&limit=2")
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await get(client, base + f"/deliveries?status=pending&cursor={page['next_cursor']}")
    items = page["items"] + rest["items"]
    assert len(items) == 3 and rest["next_cursor"] is None
    first = items[-1]  # newest first: the last is the first stored
    (attempt,) = first["attempts"]
    assert attempt["http_status"] == 500 and attempt["response"].startswith("boom")
    assert attempt["error"] is None and attempt["latency_ms"] >= 0
    assert first["event_id"] == rec.arrivals[0].id and first["event_type"] == "message.text"

    resp = await client.post(base + f"/deliveries/{first['id']}/retry", headers=AUTH)
    assert resp.status == 202, await resp.text()
    assert await d.drain() == 1  # only the retried one is due now
    page = await get(client, base + "/deliveries?status=delivered")
    assert [x["id"] for x in page["items"]] == [first["id"]]
    assert [a["http_status"] for a in page["items"][0]["attempts"]] == [500, 200]
    missing = await client.post(base + "/deliveries/999999/retry", headers=AUTH)
    assert missing.status == 404

    now = dt.datetime.now(dt.UTC)
    body = {"since": (now - dt.timedelta(hours=1)).isoformat(), "event_types": ["message.*"]}
    resp = await client.post(base + "/replay", json=body, headers=AUTH)
    assert resp.status == 202 and await resp.json() == {"count": 2}
    at.advance(seconds=60)
    before = len(rec.arrivals)
    await d.drain()
    replayed = {a.id for a in rec.arrivals[before:]}
    texts = {x["event_id"] for x in items if x["event_type"] == "message.text"}
    assert texts <= replayed  # the original ids
    assert len(replayed) == 3  # the two replayed and the subscribe's retry

    inbound = await get(client, "/api/v1/accounts/acme/inbound?limit=2")
    more = await get(client, f"/api/v1/accounts/acme/inbound?cursor={inbound['next_cursor']}")
    listed = inbound["items"] + more["items"]
    assert [p["type"] for p in listed] == ["message.text", "event.subscribe", "message.text"]
    by_id = {a.id: json.loads(a.body) for a in rec.arrivals}
    for payload in listed:
        assert by_id[payload["id"]] == payload  # the same payload as delivered
    only = await get(client, "/api/v1/accounts/acme/inbound?type=event.subscribe")
    assert [p["data"]["openid"] for p in only["items"]] == ["oB"]
    family = await get(client, "/api/v1/accounts/acme/inbound?type=message.*&openid=oA")
    assert len(family["items"]) == 2
    later = (now + dt.timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert (await get(client, f"/api/v1/accounts/acme/inbound?since={later}"))["items"] == []
    resp = await client.get("/api/v1/accounts/acme/inbound?type=bogus", headers=AUTH)
    assert resp.status == 422
    resp = await client.get("/api/v1/accounts/nobody/inbound", headers=AUTH)
    assert resp.status == 404


async def test_a_replay_to_a_reply_endpoint_queues_nothing(
    client: Client, pool: asyncpg.Pool
) -> None:
    """A reply endpoint is called inside the callback and gets no queued deliveries (no lane
    would ever take them): a replay to it queues none."""
    await create_account(client)
    endpoint = await webhooks.create_endpoint(
        pool,
        "acme",
        url="http://127.0.0.1:9/reply",
        description=None,
        event_types=None,
        disabled=False,
        rate_limit=None,
        mode="reply",
    )
    reply_id = endpoint.id
    await h.store(pool, [h.record(1, "oA"), h.record(2, "oB", "subscribe")])
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    resp = await client.post(
        f"/api/v1/accounts/acme/endpoints/{reply_id}/replay", json={"since": since}, headers=AUTH
    )
    assert resp.status == 202 and await resp.json() == {"count": 0}
    queued = await pool.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE account_id = 'acme' AND endpoint_id = $1",
        reply_id,
    )
    assert queued == 0
