"""`POST /wechat/{account_id}/pay/notify` (WeChat Pay API v3): verified, decrypted, stored
once; forged, replayed, stale or undecryptable notifications are 4xx and store nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.wechat import pay
from tests import paykeys, wx
from tests.api.conftest import AUTH

Client = TestClient[web.Request, web.Application]
APP_ID = "wx0123456789abcdef"
PAYER = "oPayer00000000000000000000001"
NOTIFY = "/wechat/acme/pay/notify"


@pytest.fixture
async def shop(client: Client, pool: asyncpg.Pool) -> Client:
    """Service account `acme` with pay settings; subscription account `news`."""
    await wx.insert_account(pool, "acme")
    await wx.insert_account(pool, "news", kind="subscription", app_id="wx00000000000000aa")
    config = {
        "mch_id": paykeys.MCH_ID,
        "apiv3_key": paykeys.APIV3_KEY,
        "platform_certificate": paykeys.pem(),
    }
    resp = await client.patch("/api/v1/accounts/acme", json={"pay": config}, headers=AUTH)
    assert resp.status == 200, await resp.text()
    return client


def _tx(transaction_id: str = "4200000001202401010000000001", **extra: Any) -> dict[str, Any]:
    return paykeys.transaction(APP_ID, PAYER, transaction_id, **extra)


async def _post(client: Client, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    resp = await client.post(NOTIFY, data=body, headers=headers)
    return resp.status, await resp.json()


async def _count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM payments"))


async def test_a_payment_is_stored_once_and_opens_the_window(
    shop: Client, pool: asyncpg.Pool
) -> None:
    status, answer = await _post(shop, *paykeys.notification(_tx()))
    assert (status, answer) == (200, {"code": "SUCCESS", "message": "OK"})
    row = await pool.fetchrow("SELECT * FROM payments")
    assert row is not None
    assert (row["transaction_id"], row["openid"], row["amount_total"], row["currency"]) == (
        "4200000001202401010000000001",
        PAYER,
        1999,
        "CNY",
    )
    assert row["notification_id"] == paykeys.ENVELOPE["id"] and row["trade_state"] == "SUCCESS"
    follower = await pool.fetchrow("SELECT * FROM followers WHERE openid = $1", PAYER)
    assert follower is not None and follower["last_interaction"] == "payment"
    assert follower["subscribed"] is False  # paying proves no subscription
    paid_at = follower["last_interaction_at"]
    assert follower["window_ends_at"] == paid_at + dt.timedelta(hours=48)
    # The platform's retry: a new request (new nonce), the same transaction.
    status, answer = await _post(shop, *paykeys.notification(_tx()))
    assert (status, answer["code"]) == (200, "SUCCESS")
    assert await _count(pool) == 1


async def test_a_payment_wakes_the_payers_held_messages(
    shop: Client, pool: asyncpg.Pool, db_url: str
) -> None:
    await pool.execute(
        "INSERT INTO followers (account_id, openid, subscribed) VALUES ('acme', $1, true)", PAYER
    )
    message = {
        "type": "customer_service",
        "to": PAYER,
        "content": {"msgtype": "text", "text": {"content": "thanks"}},
    }
    resp = await shop.post("/api/v1/accounts/acme/messages", json=message, headers=AUTH)
    assert resp.status == 202
    await pool.execute(
        "UPDATE deliveries SET status = 'held', reason = 'window_closed', release_at = NULL,"
        " wait_for = 'interaction'"
    )
    listener = await asyncpg.connect(db_url)
    notified: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("wxgate_release", lambda *args: notified.put_nowait(args[3]))
    try:
        assert (await _post(shop, *paykeys.notification(_tx())))[0] == 200
        assert await asyncio.wait_for(notified.get(), 5) == "acme"
    finally:
        await listener.close()
    release_at = await pool.fetchval("SELECT release_at FROM deliveries")
    assert release_at is not None and release_at <= dt.datetime.now(dt.UTC)


async def test_success_time_in_the_future_is_clamped(shop: Client, pool: asyncpg.Pool) -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()
    status, _ = await _post(shop, *paykeys.notification(_tx(success_time=future)))
    assert status == 200
    ends = await pool.fetchval("SELECT window_ends_at FROM followers")
    assert ends < dt.datetime.now(dt.UTC) + dt.timedelta(hours=48, minutes=1)


async def test_an_exact_replay_is_refused(shop: Client, pool: asyncpg.Pool) -> None:
    headers, body = paykeys.notification(_tx())
    assert (await _post(shop, headers, body))[0] == 200
    status, answer = await _post(shop, headers, body)
    assert (status, answer["code"]) == (401, "FAIL")
    assert "replayed" in answer["message"]
    # A replay of a notification that was never stored stores nothing either.
    headers, body = paykeys.notification(_tx("4200000001202401010000000002"))
    await pool.execute(
        "INSERT INTO pay_notify_nonces (account_id, nonce) VALUES ('acme', $1)",
        headers["Wechatpay-Nonce"],
    )
    assert (await _post(shop, headers, body))[0] == 401
    assert await _count(pool) == 1


@pytest.mark.parametrize("skew", [-301, 301, -3600 * 24])
async def test_stale_or_future_timestamps_are_refused(
    shop: Client, pool: asyncpg.Pool, skew: int
) -> None:
    ts = int(dt.datetime.now(dt.UTC).timestamp()) + skew
    status, answer = await _post(shop, *paykeys.notification(_tx(), timestamp=ts))
    assert status == 401 and "5 minutes" in answer["message"]
    assert await _count(pool) == 0


async def _refused(client: Client, pool: asyncpg.Pool, headers: dict[str, str], body: bytes) -> str:
    status, answer = await _post(client, headers, body)
    assert 400 <= status < 500, (status, answer)
    assert answer["code"] == "FAIL"
    assert await _count(pool) == 0
    assert await pool.fetchval("SELECT count(*) FROM followers") == 0
    message: str = answer["message"]
    return message


async def test_forged_notifications_are_refused(shop: Client, pool: asyncpg.Pool) -> None:
    headers, body = paykeys.notification(_tx())
    # The body changed after signing.
    tampered = paykeys.body_with(body, event_type="TRANSACTION.SUCCESS", id="EV-forged")
    assert "signature" in await _refused(shop, pool, headers, tampered)
    # Signed by someone else's key, naming the platform's serial.
    forger = paykeys.other_platform()[0]
    forged = paykeys.notification(_tx(), key=forger)
    assert "signature" in await _refused(shop, pool, *forged)
    # Naming a certificate we do not know.
    unknown = paykeys.notification(_tx(), cert_serial="ABCDEF")
    assert "Wechatpay-Serial" in await _refused(shop, pool, *unknown)
    # Without the signature headers.
    bare = {"Content-Type": "application/json"}
    assert "headers" in await _refused(shop, pool, bare, body)
    for name in pay.HEADERS:
        partial = {k: v for k, v in headers.items() if k != name}
        await _refused(shop, pool, partial, body)
    assert "Timestamp" in await _refused(
        shop, pool, {**headers, "Wechatpay-Timestamp": "soon"}, body
    )


async def test_undecryptable_or_foreign_resources_are_refused(
    shop: Client, pool: asyncpg.Pool
) -> None:
    other_key = paykeys.notification(_tx(), apiv3_key="ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert "decrypted" in await _refused(shop, pool, *other_key)
    headers, body = paykeys.notification(_tx())
    envelope = json.loads(body)
    envelope["resource"]["algorithm"] = "AEAD_AES_128_GCM"
    odd = json.dumps(envelope).encode()
    assert "algorithm" in await _refused(shop, pool, paykeys.resign(headers, odd), odd)
    no_resource = json.dumps({"id": "EV-1"}).encode()
    assert "resource" in await _refused(
        shop, pool, paykeys.resign(headers, no_resource), no_resource
    )
    not_json = b"<xml/>"
    assert "JSON" in await _refused(shop, pool, paykeys.resign(headers, not_json), not_json)
    for tx in (
        _tx(appid="wx00000000000000aa"),  # another app's payment
        _tx(mchid="1234567890"),  # another merchant's
        _tx(payer={}),
        {k: v for k, v in _tx().items() if k != "transaction_id"},
    ):
        await _refused(shop, pool, *paykeys.notification(tx))


async def test_other_events_are_acknowledged_and_not_stored(
    shop: Client, pool: asyncpg.Pool
) -> None:
    refund = paykeys.notification(_tx(), event_type="REFUND.SUCCESS")
    assert (await _post(shop, *refund))[0] == 200
    closed = paykeys.notification(_tx(trade_state="CLOSED"))
    assert (await _post(shop, *closed))[0] == 200
    assert await _count(pool) == 0


async def test_a_rotated_certificate_still_verifies(shop: Client, pool: asyncpg.Pool) -> None:
    old = paykeys.notification(_tx("4200000001202401010000000001"))
    new_key, new_cert = paykeys.other_platform()
    config = {"pay": {"platform_certificate": pay.pem(new_cert)}}
    resp = await shop.patch("/api/v1/accounts/acme", json=config, headers=AUTH)
    assert resp.status == 200 and (await resp.json())["has_pay_config"] is True
    fresh = paykeys.notification(
        _tx("4200000001202401010000000002"), key=new_key, cert_serial=pay.serial(new_cert)
    )
    assert (await _post(shop, *fresh))[0] == 200
    assert (await _post(shop, *old))[0] == 200  # signed before the rotation
    assert await _count(pool) == 2


async def test_a_previous_certificate_is_refused_after_the_grace_period(
    shop: Client, pool: asyncpg.Pool
) -> None:
    new_key, new_cert = paykeys.other_platform()
    config = {"pay": {"platform_certificate": pay.pem(new_cert)}}
    assert (await shop.patch("/api/v1/accounts/acme", json=config, headers=AUTH)).status == 200
    # 72 hours and a minute after the rotation, the replaced certificate is no longer trusted.
    await pool.execute(
        "UPDATE accounts SET pay_cert_rotated_at = now() - interval '72 hours 1 minute'"
        " WHERE id = 'acme'"
    )
    old = paykeys.notification(_tx("4200000001202401010000000001"))
    status, body = await _post(shop, *old)
    assert (status, body["message"]) == (401, "unknown Wechatpay-Serial")
    fresh = paykeys.notification(
        _tx("4200000001202401010000000002"), key=new_key, cert_serial=pay.serial(new_cert)
    )
    assert (await _post(shop, *fresh))[0] == 200
    assert await _count(pool) == 1


async def test_a_rotation_records_when_the_certificate_was_replaced(
    shop: Client, pool: asyncpg.Pool
) -> None:
    first = "SELECT pay_cert_rotated_at FROM accounts WHERE id = 'acme'"
    assert await pool.fetchval(first) is None  # the first certificate replaced none
    config = {"pay": {"platform_certificate": pay.pem(paykeys.other_platform()[1])}}
    before = await pool.fetchval("SELECT now()")
    assert (await shop.patch("/api/v1/accounts/acme", json=config, headers=AUTH)).status == 200
    rotated = await pool.fetchval("SELECT pay_cert_rotated_at FROM accounts WHERE id = 'acme'")
    assert rotated is not None and rotated >= before
    # Setting the same certificate again is no rotation: the time stays.
    assert (await shop.patch("/api/v1/accounts/acme", json=config, headers=AUTH)).status == 200
    again = await pool.fetchval("SELECT pay_cert_rotated_at FROM accounts WHERE id = 'acme'")
    assert again == rotated


@pytest.mark.parametrize(
    ("days_from_now", "days", "says"),
    [(-400, 365, "expired"), (10, 365, "not valid before")],
)
async def test_certificates_outside_their_validity_are_refused_at_configuration(
    shop: Client, pool: asyncpg.Pool, days_from_now: int, days: int, says: str
) -> None:
    cert = paykeys.dated(days_from_now, days)
    config = {"pay": {"platform_certificate": pay.pem(cert)}}
    resp = await shop.patch("/api/v1/accounts/acme", json=config, headers=AUTH)
    body = await resp.json()
    assert resp.status == 422, body
    assert says in json.dumps(body["error"]["details"])
    serial = await pool.fetchval("SELECT pay_cert_serial FROM accounts WHERE id = 'acme'")
    assert serial == paykeys.serial()


@pytest.mark.parametrize(("days_from_now", "days"), [(-400, 365), (10, 365)])
async def test_a_stored_certificate_outside_its_validity_is_refused_at_verification(
    shop: Client, pool: asyncpg.Pool, days_from_now: int, days: int
) -> None:
    # Configured while valid, now expired (or, set by hand, not yet valid): refused.
    cert = paykeys.dated(days_from_now, days)
    await pool.execute(
        "UPDATE accounts SET pay_cert_pem = $1, pay_cert_serial = $2 WHERE id = 'acme'",
        pay.pem(cert),
        pay.serial(cert),
    )
    signed = paykeys.notification(
        _tx(), key=paykeys.other_platform()[0], cert_serial=pay.serial(cert)
    )
    status, body = await _post(shop, *signed)
    assert status == 401 and "certificate" in body["message"], body
    assert await _count(pool) == 0


async def test_accounts_that_cannot_receive_payments(client: Client, pool: asyncpg.Pool) -> None:
    await wx.insert_account(pool, "acme")
    await wx.insert_account(pool, "news", kind="subscription", app_id="wx00000000000000aa")
    headers, body = paykeys.notification(_tx())
    resp = await client.post("/wechat/nobody/pay/notify", data=body, headers=headers)
    assert resp.status == 404 and (await resp.json())["code"] == "FAIL"
    resp = await client.post("/wechat/news/pay/notify", data=body, headers=headers)
    answer = await resp.json()
    assert resp.status == 403 and answer["message"].startswith("capability_not_available")
    assert "subscription accounts cannot receive payments" in answer["message"]
    # A service account without pay settings: the platform should retry later.
    resp = await client.post(NOTIFY, data=body, headers=headers)
    assert resp.status == 503 and "not configured" in (await resp.json())["message"]
    assert await _count(pool) == 0
