"""The outbox: every stored event gets one delivery per matching enabled endpoint, in the
transaction (or the one statement) that stores it."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from gateway.domain import kinds, window
from gateway.store import inbound, webhooks

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def rec(
    n: int, openid: str, msg_type: str, event: str | None, profile: window.RuleProfile
) -> inbound.EventRecord:
    return inbound.EventRecord(
        account_id="acme",
        kind=kinds.AccountKind.SERVICE,
        profile=profile,
        dedupe_key=f"k{n}",
        openid=openid,
        msg_type=msg_type,
        event=event,
        event_key=None,
        msg_id=n if event is None else None,
        create_time=T0,
        received_at=T0,
        fields={"Content": "hi"} if event is None else {"Event": event},
        scene=None,
    )


@pytest.fixture(autouse=True)
async def account(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, oauth_signing_key)"
        " VALUES ('acme', 'service', 'wx1', 's', 't', 'k'),"
        " ('other', 'service', 'wx2', 's', 't', 'k')"
    )


async def endpoint(pool: asyncpg.Pool, account: str, types: list[str] | None, **kw: object) -> str:
    row = await webhooks.create_endpoint(
        pool,
        account,
        url="https://hooks.example/x",
        description=None,
        event_types=types,
        disabled=bool(kw.get("disabled", False)),
        rate_limit=None,
    )
    return str(row.id)


async def deliveries(pool: asyncpg.Pool) -> list[tuple[str, str, str]]:
    rows = await pool.fetch(
        "SELECT endpoint_id, event_type, openid FROM webhook_deliveries ORDER BY id"
    )
    return [(r["endpoint_id"], r["event_type"], r["openid"]) for r in rows]


@pytest.mark.parametrize("profile", [window.RuleProfile.SEED, window.RuleProfile.WECHAT_2023])
async def test_callbacks_queue_one_delivery_per_matching_endpoint(
    pool: asyncpg.Pool, profile: window.RuleProfile
) -> None:
    every = await endpoint(pool, "acme", None)
    messages = await endpoint(pool, "acme", ["message.*"])
    subs = await endpoint(pool, "acme", ["event.subscribe"])
    await endpoint(pool, "acme", None, disabled=True)
    await endpoint(pool, "other", None)  # another account's endpoint sees nothing
    batch = [
        rec(1, "oA", "text", None, profile),
        rec(2, "oB", "event", "subscribe", profile),
        rec(3, "oA", "event", "CLICK", profile),
        rec(1, "oA", "text", None, profile),  # WeChat's retry: stored once, queued once
    ]
    async with pool.acquire() as conn:
        await inbound.store_batch(conn, batch)
        await inbound.store_batch(conn, batch[:1])  # a later retry changes nothing
    # In stored order; one event's deliveries in endpoint id order.
    assert await deliveries(pool) == [
        *sorted([(every, "message.text", "oA"), (messages, "message.text", "oA")]),
        *sorted([(every, "event.subscribe", "oB"), (subs, "event.subscribe", "oB")]),
        (every, "event.click", "oA"),
    ]


async def test_an_endpoint_sees_only_events_stored_after_it_was_created(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await inbound.store_batch(conn, [rec(1, "oA", "text", None, window.RuleProfile.SEED)])
    ep = await endpoint(pool, "acme", None)
    async with pool.acquire() as conn:
        await inbound.store_batch(conn, [rec(2, "oA", "text", None, window.RuleProfile.SEED)])
    assert await deliveries(pool) == [(ep, "message.text", "oA")]


async def test_emit_and_outbound_transitions(pool: asyncpg.Pool) -> None:
    ep = await endpoint(pool, "acme", ["outbound.*", "payment.succeeded"])
    async with pool.acquire() as conn, conn.transaction():
        await webhooks.emit(conn, "acme", "payment.succeeded", "oA", {"amount_total": 1})
        await webhooks.emit(conn, "acme", "oauth.granted", "oA", {})  # filtered out
    mid = await pool.fetchval(
        "INSERT INTO messages (account_id, type, recipient, content, expires_at)"
        " VALUES ('acme', 'customer_service', 'oA', '{}', now() + interval '1 day') RETURNING id"
    )
    for status, reason in (("queued", None), ("sent", None), ("failed", "x"), ("failed", "y")):
        await pool.execute(
            "INSERT INTO message_transitions (account_id, message_id, status, reason)"
            " VALUES ('acme', $1, $2, $3)",
            mid,
            status,
            reason,
        )
    assert await deliveries(pool) == [
        (ep, "payment.succeeded", "oA"),
        (ep, "outbound.sent", "oA"),
        (ep, "outbound.failed", "oA"),
    ]
    data = await pool.fetchval("SELECT data FROM webhook_events WHERE type = 'outbound.failed'")
    assert data["message_id"] == mid and data["reason"] == "x" and data["to"] == "oA"
    assert data["message_type"] == "customer_service" and data["status"] == "failed"
