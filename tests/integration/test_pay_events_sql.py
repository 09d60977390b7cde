"""The payment and event stores against a real Postgres: what holds across concurrent
requests (one payment per transaction, capacity, one check-in), and the window a payment
opens."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg
import pytest

from gateway.store import events, payments
from tests import wx

NOW = dt.datetime.now(dt.UTC)


def _payment(transaction_id: str = "4200000001", openid: str = "o1") -> payments.Payment:
    return payments.Payment(
        transaction_id=transaction_id,
        out_trade_no="order-1",
        openid=openid,
        amount_total=100,
        currency="CNY",
        trade_state="SUCCESS",
        trade_type="JSAPI",
        success_time=NOW,
        notification_id="EV-1",
        transaction={"transaction_id": transaction_id},
    )


async def _account(pool: asyncpg.Pool, account_id: str = "acme", **kw: Any) -> payments.PayAccount:
    await wx.insert_account(pool, account_id, **kw)
    found = await payments.pay_account(pool, account_id)
    assert found is not None
    return found


async def test_concurrent_notifications_store_one_payment(pool: asyncpg.Pool) -> None:
    account = await _account(pool)
    results = await asyncio.gather(
        *(payments.record_payment(pool, account, f"nonce-{n}", _payment(), NOW) for n in range(8))
    )
    assert sorted(results) == [False] * 7 + [True]
    assert await pool.fetchval("SELECT count(*) FROM payments") == 1
    assert await pool.fetchval("SELECT count(*) FROM pay_notify_nonces") == 8


async def test_a_nonce_is_accepted_once(pool: asyncpg.Pool) -> None:
    account = await _account(pool)
    assert await payments.record_payment(pool, account, "n1", _payment("1"), NOW)
    with pytest.raises(payments.Replayed):
        await payments.record_payment(pool, account, "n1", _payment("2"), NOW)
    assert await pool.fetchval("SELECT count(*) FROM payments") == 1
    # Nonces are remembered as long as a timestamp could pass: then forgotten.
    later = NOW + payments.NONCE_MEMORY + dt.timedelta(seconds=1)
    assert await payments.record_payment(pool, account, "n2", _payment("3"), later)
    assert await pool.fetchval("SELECT array_agg(nonce) FROM pay_notify_nonces") == ["n2"]


async def test_a_payment_extends_but_never_shortens_the_window(pool: asyncpg.Pool) -> None:
    account = await _account(pool)
    far = NOW + dt.timedelta(days=3)
    await pool.execute(
        "INSERT INTO followers (account_id, openid, subscribed, window_ends_at,"
        " last_interaction_at, last_interaction) VALUES ('acme', 'o1', true, $1, $2, 'message')",
        far,
        NOW + dt.timedelta(minutes=1),
    )
    assert await payments.record_payment(pool, account, "n1", _payment(), NOW)
    row = await pool.fetchrow("SELECT * FROM followers WHERE openid = 'o1'")
    assert row is not None and row["window_ends_at"] == far
    # The message came after the payment: it stays the latest interaction.
    assert row["last_interaction"] == "message"


async def test_wechat_2023_payment_allowance(pool: asyncpg.Pool) -> None:
    account = await _account(pool, rule_profile="wechat-2023")
    assert await payments.record_payment(pool, account, "n1", _payment(), NOW)
    row = await pool.fetchrow("SELECT * FROM followers WHERE openid = 'o1'")
    assert row is not None
    assert (row["window_ends_at"], row["window_remaining"]) == (NOW + dt.timedelta(hours=48), None)


async def _event(pool: asyncpg.Pool, capacity: int, **kw: Any) -> events.Event:
    await wx.insert_account(pool, "acme")
    start = NOW + dt.timedelta(hours=2)
    return await events.create_event(
        pool,
        "acme",
        events.NewEvent(
            name="Fair",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            capacity=capacity,
            reminder_offsets=kw.get("offsets", [60]),
            reminder_template={"template_id": "t", "data": {}},
            welcome_text="Welcome",
            survey_url=None,
            survey_template=kw.get("survey"),
            qr_scene="evt-1",
            qr_ticket="T",
            qr_url="http://weixin.qq.com/q/x",
            qr_expires_at=start + dt.timedelta(hours=2),
        ),
    )


async def test_capacity_holds_under_concurrent_registrations(pool: asyncpg.Pool) -> None:
    event = await _event(pool, capacity=5)
    results = await asyncio.gather(
        *(events.register(pool, "acme", event.id, f"o{n}", NOW) for n in range(20))
    )
    assert results.count("registered") == 5 and results.count("full") == 15
    stats = await events.event_stats(pool, "acme", event.id)
    assert (stats.registered, stats.reminders_queued) == (5, 5)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE events SET registered = capacity + 1")


async def test_registering_twice_is_idempotent(pool: asyncpg.Pool) -> None:
    event = await _event(pool, capacity=5)
    again = await asyncio.gather(
        *(events.register(pool, "acme", event.id, "o1", NOW) for _ in range(5))
    )
    assert sorted(again) == ["already_registered"] * 4 + ["registered"]
    assert await pool.fetchval("SELECT registered FROM events") == 1
    assert await pool.fetchval("SELECT count(*) FROM messages") == 1


async def test_late_registrants_get_only_the_reminders_ahead(pool: asyncpg.Pool) -> None:
    event = await _event(pool, capacity=5, offsets=[600, 3 * 3600])
    assert await events.register(pool, "acme", event.id, "o1", NOW) == "registered"
    assert await pool.fetchval("SELECT count(*) FROM messages") == 1
    start = event.starts_at
    assert await events.register(pool, "acme", event.id, "o2", start) == "closed"


async def test_concurrent_scans_check_in_once(pool: asyncpg.Pool) -> None:
    await _event(pool, capacity=5, survey={"template_id": "s", "data": {}})
    link = "https://gateway.test/survey"
    checks = await asyncio.gather(
        *(
            events.check_in(pool, "acme", "evt-1", "o1", NOW, dt.timedelta(days=7), lambda e: link)
            for _ in range(6)
        )
    )
    assert sorted(c.fresh for c in checks if c is not None) == [False] * 5 + [True]
    purposes = await pool.fetch("SELECT purpose FROM event_messages ORDER BY message_id")
    assert [r["purpose"] for r in purposes] == ["welcome", "survey"]
    assert await pool.fetchval("SELECT count(*) FROM messages") == 2
    none = await events.check_in(pool, "acme", "evt-2", "o1", NOW, dt.timedelta(1), str)
    assert none is None
    await pool.execute("DELETE FROM events")  # registrations, links and answers go with it
    assert await pool.fetchval("SELECT count(*) FROM event_registrations") == 0
    assert await pool.fetchval("SELECT count(*) FROM event_messages") == 0
