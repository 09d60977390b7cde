"""No lost wake-up (SPEC 2.2): a claim that holds a delivery for its follower's window (or
subscription) while that follower's window-opening callback, re-subscribe or payment is being
stored must not leave the delivery held.

Each test pauses the claim inside its transaction, after it decided the hold and before it
commits (a third connection holds the message row that the claim's status recompute locks),
runs the callback against it, lets the claim commit, and then asks a second claim pass what
it would send.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg
import pytest

from gateway.domain import kinds, window
from gateway.store import inbound, payments
from gateway.store import pool as pool_mod
from scheduler import claim as claim_mod
from tests.integration import sched_helpers as h

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
Ingest = Callable[[pool_mod.Connection], Coroutine[Any, Any, object]]


async def _lock_wait(pool: asyncpg.Pool, pid: int, what: str) -> None:
    for _ in range(500):
        state = await pool.fetchval(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
        )
        if state == "Lock":
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what} never waited for a lock")


async def _claim(conn: pool_mod.Connection) -> claim_mod.Claimed:
    return await claim_mod.claim(
        conn,
        dt.datetime.now(dt.UTC),
        worker_id="w1",
        tz=TZ,
        per_account=100,
        total=100,
        lease=dt.timedelta(seconds=60),
    )


def _event(
    account_id: str, profile: str, openid: str, msg_type: str, event: str | None, n: int
) -> inbound.EventRecord:
    now = dt.datetime.now(dt.UTC)
    return inbound.EventRecord(
        account_id=account_id,
        kind=kinds.AccountKind.SERVICE,
        profile=window.RuleProfile(profile),
        dedupe_key=f"race-{n}",
        openid=openid,
        msg_type=msg_type,
        event=event,
        event_key="" if event else None,
        msg_id=None if event else n,
        create_time=now,
        received_at=now,
        fields={},
        scene=None,
    )


async def _race(
    pool: asyncpg.Pool, db_url: str, message_id: int, ingest: Ingest, *, ingest_waits: bool
) -> tuple[str, str | None]:
    """Run `ingest` while a claim of `message_id` sits between its decision and its commit;
    returns (status, reason) the claim left on the delivery."""
    side = await pool_mod.create(db_url, size=3)
    conns = [await side.acquire() for _ in range(3)]
    blocker, claimer, writer = conns
    try:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute(
            "SELECT 1 FROM messages WHERE account_id = 'svc' AND id = $1 FOR UPDATE", message_id
        )
        claiming = asyncio.create_task(_claim(claimer))
        await _lock_wait(pool, claimer.get_server_pid(), "the claim")
        storing = asyncio.create_task(ingest(writer))
        if ingest_waits:
            # The callback waits for the follower row the claim holds.
            await _lock_wait(pool, writer.get_server_pid(), "the callback")
        else:
            await asyncio.wait_for(asyncio.shield(storing), 10)
        await tx.commit()
        first = await asyncio.wait_for(claiming, 10)
        await asyncio.wait_for(storing, 10)
        assert first.calls == []  # the claim held the delivery: it saw the old state
    finally:
        for conn in conns:
            await side.release(conn)
        await side.close()
    row = await pool.fetchrow(
        "SELECT status, reason FROM deliveries WHERE account_id = 'svc' AND message_id = $1",
        message_id,
    )
    assert row is not None
    return row["status"], row["reason"]


async def _second_pass(pool: asyncpg.Pool) -> list[str | None]:
    async with pool.acquire() as conn:
        second = await _claim(conn)
    return [item.openid for call in second.calls for item in call.items]


async def _setup(pool: asyncpg.Pool, profile: str) -> None:
    await h.add_account(pool, "svc", "service", profile=profile)


async def _message(pool: asyncpg.Pool, openid: str) -> int:
    [message_id] = await h.add_messages(
        pool, "svc", "customer_service", [[openid]], at=dt.datetime.now(dt.UTC)
    )
    return message_id


@pytest.mark.parametrize("profile", ["seed", "wechat-2023"])
async def test_a_message_that_opens_the_window_releases_a_concurrent_hold(
    pool: asyncpg.Pool, db_url: str, profile: str
) -> None:
    await _setup(pool, profile)
    closed = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await h.add_followers(pool, "svc", ["o1"], window_ends_at=closed)
    message_id = await _message(pool, "o1")

    async def text(conn: pool_mod.Connection) -> object:
        return await inbound.store_batch(conn, [_event("svc", profile, "o1", "text", None, 1)])

    held = await _race(pool, db_url, message_id, text, ingest_waits=True)
    assert held == ("held", "window_closed")
    assert await _second_pass(pool) == ["o1"]


@pytest.mark.parametrize("profile", ["seed", "wechat-2023"])
async def test_a_resubscribe_releases_a_concurrent_hold(
    pool: asyncpg.Pool, db_url: str, profile: str
) -> None:
    await _setup(pool, profile)
    await h.add_followers(pool, "svc", ["o1"], subscribed=False)
    message_id = await _message(pool, "o1")

    async def subscribe(conn: pool_mod.Connection) -> object:
        return await inbound.store_batch(
            conn, [_event("svc", profile, "o1", "event", "subscribe", 1)]
        )

    held = await _race(pool, db_url, message_id, subscribe, ingest_waits=True)
    assert held == ("held", "not_subscribed")
    assert await _second_pass(pool) == ["o1"]


@pytest.mark.parametrize("profile", ["seed", "wechat-2023"])
async def test_a_first_subscribe_releases_a_concurrent_hold_for_an_unknown_follower(
    pool: asyncpg.Pool, db_url: str, profile: str
) -> None:
    """No follower row to lock: the claim decides on "never seen" while the subscribe creates
    the row, and the subscribe commits first."""
    await _setup(pool, profile)
    message_id = await _message(pool, "o-new")

    async def subscribe(conn: pool_mod.Connection) -> object:
        return await inbound.store_batch(
            conn, [_event("svc", profile, "o-new", "event", "subscribe", 1)]
        )

    held = await _race(pool, db_url, message_id, subscribe, ingest_waits=False)
    assert held == ("held", "not_subscribed")
    assert await _second_pass(pool) == ["o-new"]


async def test_a_payment_releases_a_concurrent_hold(pool: asyncpg.Pool, db_url: str) -> None:
    await _setup(pool, "seed")
    closed = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await h.add_followers(pool, "svc", ["o1"], window_ends_at=closed)
    message_id = await _message(pool, "o1")
    account = await payments.pay_account(pool, "svc")
    assert account is not None
    now = dt.datetime.now(dt.UTC)
    paid = payments.Payment(
        transaction_id="4200000001",
        out_trade_no="order-1",
        openid="o1",
        amount_total=100,
        currency="CNY",
        trade_state="SUCCESS",
        trade_type="JSAPI",
        success_time=now,
        notification_id="EV-1",
        transaction={"transaction_id": "4200000001"},
    )
    payer_pool = await pool_mod.create(db_url, size=1)
    try:
        payer_pid = await payer_pool.fetchval("SELECT pg_backend_pid()")

        async def pay(conn: pool_mod.Connection) -> object:
            del conn  # record_payment takes a pool: its one connection is `payer_pid`
            return await payments.record_payment(payer_pool, account, "n1", paid, now)

        async def pay_and_wait(conn: pool_mod.Connection) -> object:
            task = asyncio.create_task(pay(conn))
            await _lock_wait(pool, payer_pid, "the payment")
            return task

        # The payment's own connection is the one that waits, not `writer`.
        task_box: list[asyncio.Task[object]] = []

        async def start_payment(conn: pool_mod.Connection) -> object:
            task = await pay_and_wait(conn)
            assert isinstance(task, asyncio.Task)
            task_box.append(task)
            return None

        held = await _race(pool, db_url, message_id, start_payment, ingest_waits=False)
        assert await asyncio.wait_for(task_box[0], 10) is True
    finally:
        await payer_pool.close()
    assert held == ("held", "window_closed")
    assert await _second_pass(pool) == ["o1"]
