"""Payments end to end through the mock platform (C2): a follower pays, WeChat Pay notifies
the gateway (signed, encrypted, retried), the payment opens the follower's window, and a red
pack goes out exactly once although the notification and the send are both retried."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from tests.integration import flows

SHOP, NEWS = "wx00000000000005a1", "wx00000000000005a2"
PAYER = "oPayer00000000000000000000001"
REDPACK = "/mmpaymkttransfers/sendredpack"
APIV3 = "abcdefghijklmnopqrstuvwxyz012345"


async def _configure(stack: flows.Stack) -> None:
    """The shop's pay settings: the mock's certificate in the gateway, the APIv3 key and the
    merchant on both sides."""
    await stack.account("shop", "service", SHOP)
    await stack.account("news", "subscription", NEWS)
    status, cert = await stack.mock_json("GET", "/_mock/pay/certificate")
    assert status == 200
    pay = {"mch_id": "1900000109", "apiv3_key": APIV3, "platform_certificate": cert["certificate"]}
    status, account = await stack.api("PATCH", "/api/v1/accounts/shop", {"pay": pay})
    assert status == 200, account
    assert account["has_pay_config"] is True
    assert not {"pay", "pay_apiv3_key", "apiv3_key"} & set(account)
    status, _ = await stack.mock_json(
        "PATCH", f"/_mock/accounts/{SHOP}", {"mch_id": "1900000109", "apiv3_key": APIV3}
    )
    assert status == 200


async def _message(stack: flows.Stack, message_id: int) -> dict[str, Any]:
    status, body = await stack.api("GET", f"/api/v1/accounts/shop/messages/{message_id}")
    assert status == 200
    result: dict[str, Any] = body
    return result


async def test_a_payer_gets_a_window_and_one_red_pack_despite_retries(
    db_url: str, pool: asyncpg.Pool
) -> None:
    async with flows.stack(db_url, pool, call_timeout=0.3) as stack:
        await _configure(stack)
        # The follower followed three days ago: their window is closed, so a
        # customer-service message waits.
        await stack.act(SHOP, PAYER, "subscribe", ago_seconds=3 * 86400)
        thanks = {
            "type": "customer_service",
            "to": PAYER,
            "content": {"msgtype": "text", "text": {"content": "Thank you for your order"}},
        }
        status, queued = await stack.api("POST", "/api/v1/accounts/shop/messages", thanks)
        assert status == 202
        await stack.drain()
        held = await _message(stack, queued["id"])
        assert (held["status"], held["reason"]) == ("held", "window_closed")

        # The payment: WeChat Pay notifies the gateway, which stores it and opens the window.
        paid = await stack.act(SHOP, PAYER, "pay", amount=1999, out_trade_no="order-2024-0001")
        assert paid["delivered"] is True and paid["status"] == 200, paid
        assert paid["reply"] == '{"code": "SUCCESS", "message": "OK"}'
        transaction_id = paid["transaction_id"]
        status, follower = await stack.api("GET", f"/api/v1/accounts/shop/followers/{PAYER}")
        assert follower["window"]["open"] is True
        assert follower["last_interaction"] == "payment"
        await stack.drain()
        assert (await _message(stack, queued["id"]))["status"] == "sent"

        # WeChat Pay retries the notification (twice): stored once, window unchanged.
        for _ in range(2):
            again = await stack.mock_json(
                "POST", f"/_mock/accounts/{SHOP}/payments/{transaction_id}/notify"
            )
            assert again[0] == 200 and again[1]["delivered"] is True
        status, page = await stack.api("GET", "/api/v1/accounts/shop/payments")
        assert status == 200
        assert [(p["transaction_id"], p["openid"], p["amount_total"]) for p in page["items"]] == [
            (transaction_id, PAYER, 1999)
        ]
        assert page["items"][0]["out_trade_no"] == "order-2024-0001"
        status, again_follower = await stack.api("GET", f"/api/v1/accounts/shop/followers/{PAYER}")
        assert again_follower["last_interaction_at"] == follower["last_interaction_at"]

        # The business thanks the payer with a red pack, keyed by the transaction; the
        # platform answers the first send too late, so the worker sends it again.
        red_pack = {
            "type": "red_pack",
            "to": PAYER,
            "red_pack": {"amount": 888, "wishing": "Thank you!", "act_name": "Spring sale"},
            "idempotency_key": f"thanks-{transaction_id}",
        }
        status, rp = await stack.api("POST", "/api/v1/accounts/shop/messages", red_pack)
        assert status == 202, rp
        status, same = await stack.api("POST", "/api/v1/accounts/shop/messages", red_pack)
        assert (status, same["id"]) == (200, rp["id"])  # the business's own retry
        await stack.mock.fault(path=REDPACK, latency_ms=800, count=1)
        await stack.drain()
        first = await _message(stack, rp["id"])
        assert (first["status"], first["reason"]) == ("held", "retry_backoff"), first
        await stack.wait_sent(SHOP, REDPACK, 1)  # the slow first call went through
        stack.clock.advance(minutes=10)
        await stack.drain()
        done = await _message(stack, rp["id"])
        assert done["status"] == "sent" and done["attempts"] == 2, done
        log = await stack.sent(SHOP, REDPACK)
        billnos = {r["body"]["mch_billno"] for r in log}
        assert len(log) == 2 and len(billnos) == 1, log  # the same merchant request number
        assert [r["delivered"] for r in log] == [True, False]
        assert log[1]["verdict"].startswith("duplicate")
        status, platform = await stack.mock_json("GET", f"/_mock/accounts/{SHOP}/payments")
        sends = platform["sends"]
        assert [(s["kind"], s["openid"], s["params"]["total_amount"]) for s in sends] == [
            ("red_pack", PAYER, 888)
        ]
        assert done["msgid"] == sends[0]["platform_id"]


async def test_a_coupon_is_sent_once(db_url: str, pool: asyncpg.Pool) -> None:
    async with flows.stack(db_url, pool) as stack:
        await _configure(stack)
        await stack.act(SHOP, PAYER, "subscribe")
        coupon = {"type": "coupon", "to": PAYER, "coupon": {"stock_id": "9856888"}}
        status, queued = await stack.api("POST", "/api/v1/accounts/shop/messages", coupon)
        assert status == 202
        await stack.drain()
        assert (await _message(stack, queued["id"]))["status"] == "sent"
        status, platform = await stack.mock_json("GET", f"/_mock/accounts/{SHOP}/payments")
        assert [(s["kind"], s["params"]["coupon_stock_id"]) for s in platform["sends"]] == [
            ("coupon", "9856888")
        ]


async def test_red_packs_wait_for_a_subscriber(db_url: str, pool: asyncpg.Pool) -> None:
    async with flows.stack(db_url, pool) as stack:
        await _configure(stack)
        body = {
            "type": "red_pack",
            "to": PAYER,
            "red_pack": {"amount": 100, "wishing": "Welcome", "act_name": "Welcome gift"},
        }
        status, queued = await stack.api("POST", "/api/v1/accounts/shop/messages", body)
        assert status == 202
        await stack.drain()
        held = await _message(stack, queued["id"])
        assert (held["status"], held["reason"]) == ("held", "not_subscribed")
        await stack.act(SHOP, PAYER, "subscribe")  # wakes the held red pack at once
        await stack.drain()
        assert (await _message(stack, queued["id"]))["status"] == "sent"


async def test_every_subscription_account_attempt_is_refused(
    db_url: str, pool: asyncpg.Pool
) -> None:
    async with flows.stack(db_url, pool) as stack:
        await _configure(stack)
        await stack.act(NEWS, PAYER, "subscribe")
        rule = "subscription accounts cannot receive payments or issue red packs and coupons"
        for body in (
            {
                "type": "red_pack",
                "to": PAYER,
                "red_pack": {"amount": 100, "wishing": "Hi", "act_name": "Gift"},
            },
            {"type": "coupon", "to": PAYER, "coupon": {"stock_id": "1"}},
        ):
            status, answer = await stack.api("POST", "/api/v1/accounts/news/messages", body)
            assert status == 403, answer
            assert answer["error"]["code"] == "capability_not_available"
            assert rule in answer["error"]["message"]
        status, cert = await stack.mock_json("GET", "/_mock/pay/certificate")
        pay = {"mch_id": "1900000109", "platform_certificate": cert["certificate"]}
        status, answer = await stack.api("PATCH", "/api/v1/accounts/news", {"pay": pay})
        assert (status, answer["error"]["code"]) == (403, "capability_not_available")
        status, answer = await stack.api("GET", "/api/v1/accounts/news/payments")
        assert (status, answer["error"]["code"]) == (403, "capability_not_available")
        event = {
            "name": "Fair",
            "starts_at": (flows.now() + dt.timedelta(hours=1)).isoformat(),
            "ends_at": (flows.now() + dt.timedelta(hours=2)).isoformat(),
            "capacity": 10,
        }
        status, answer = await stack.api("POST", "/api/v1/accounts/news/events", event)
        assert (status, answer["error"]["code"]) == (403, "capability_not_available")
        assert "cannot run marketing events" in answer["error"]["message"]
        # The platform's side: no payments on a subscription account.
        status, refused = await stack.mock_json(
            "POST", f"/_mock/accounts/{NEWS}/followers/{PAYER}/actions", {"action": "pay"}
        )
        assert (status, refused["error"]["code"]) == (400, "capability_not_available")
        async with stack.session.post(
            f"{stack.gateway}/wechat/news/pay/notify", data=b"{}"
        ) as resp:
            assert resp.status == 403
            answer = await resp.json()
            assert answer["code"] == "FAIL" and rule in answer["message"]
        assert await pool.fetchval("SELECT count(*) FROM payments") == 0
