"""The mock's WeChat Pay side: signed, encrypted v3 notifications for `pay` actions (retried
like the platform's), its certificate, and the red pack and coupon endpoints' rules."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.wechat import pay
from tests.mock.conftest import Clock, Platform

APIV3 = "abcdefghijklmnopqrstuvwxyz012345"
REDPACK = "/mmpaymkttransfers/sendredpack"
COUPON = "/mmpaymkttransfers/send_coupon"


@dataclasses.dataclass
class Merchant:
    """A merchant's notify URL: checks each notification like a gateway would."""

    fail_first: int = 0
    url: str = ""
    certificate: str = ""
    received: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    nonces: list[str] = dataclasses.field(default_factory=list)
    attempts: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.read()
        h = request.headers
        cert = pay.load_certificate(self.certificate)
        assert h["Wechatpay-Serial"] == pay.serial(cert)
        ok = pay.verify(
            cert, h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], body, h["Wechatpay-Signature"]
        )
        assert ok, "bad signature"
        self.nonces.append(h["Wechatpay-Nonce"])
        if self.attempts <= self.fail_first:
            return web.json_response({"code": "FAIL", "message": "busy"}, status=500)
        envelope = json.loads(body)
        self.received.append(
            {"envelope": envelope, "tx": json.loads(pay.decrypt(APIV3, envelope["resource"]))}
        )
        return web.json_response({"code": "SUCCESS"})


@pytest.fixture
async def merchant(
    aiohttp_server: Callable[..., Awaitable[TestServer]], mock: TestClient[Any, Any]
) -> Merchant:
    found = Merchant()
    app = web.Application()
    app.router.add_post("/notify", found.handle)
    server = await aiohttp_server(app)
    found.url = str(server.make_url("/notify"))
    found.certificate = (await (await mock.get("/_mock/pay/certificate")).json())["certificate"]
    return found


async def _register(platform: Platform, merchant: Merchant, app_id: str = "wxa") -> None:
    await platform.register(
        app_id, pay_notify_url=merchant.url, mch_id="1900000109", apiv3_key=APIV3
    )


async def test_certificate_route(mock: TestClient[Any, Any]) -> None:
    first = await (await mock.get("/_mock/pay/certificate")).json()
    again = await (await mock.get("/_mock/pay/certificate")).json()
    assert first == again  # one key pair per mock
    cert = pay.load_certificate(first["certificate"])
    assert first["serial_no"] == pay.serial(cert)
    assert first["effective_time"] < first["expire_time"]


async def test_pay_pushes_a_signed_encrypted_notification(
    platform: Platform, merchant: Merchant, clock: Clock
) -> None:
    await _register(platform, merchant)
    await platform.act("wxa", "o1", "subscribe")
    answer = await platform.act("wxa", "o1", "pay", amount=2500, out_trade_no="order-000042")
    assert (answer["delivered"], answer["attempts"], answer["status"]) == (True, 1, 200)
    (got,) = merchant.received
    tx = got["tx"]
    assert tx["transaction_id"] == answer["transaction_id"] and len(tx["transaction_id"]) == 28
    assert (tx["appid"], tx["mchid"], tx["out_trade_no"]) == ("wxa", "1900000109", "order-000042")
    assert tx["payer"] == {"openid": "o1"} and tx["amount"]["total"] == 2500
    assert tx["trade_state"] == "SUCCESS" and tx["success_time"].endswith("+08:00")
    assert got["envelope"]["event_type"] == "TRANSACTION.SUCCESS"
    # The payment opened the mock's own window too.
    assert (await platform.follower("wxa", "o1"))["window"]["open"] is True


async def test_notifications_are_retried_and_re_signed(
    platform: Platform, merchant: Merchant
) -> None:
    await _register(platform, merchant)
    await platform.act("wxa", "o1", "subscribe")
    merchant.fail_first = 2
    answer = await platform.act("wxa", "o1", "pay")
    assert (answer["delivered"], answer["attempts"]) == (True, 3)
    assert len(set(merchant.nonces)) == 3  # each attempt is a new signed request
    transaction_id = answer["transaction_id"]
    again = await platform.client.post(f"/_mock/accounts/wxa/payments/{transaction_id}/notify")
    assert (await again.json())["delivered"] is True
    assert [r["tx"]["transaction_id"] for r in merchant.received] == [transaction_id] * 2
    assert merchant.received[0]["envelope"]["id"] == merchant.received[1]["envelope"]["id"]
    missing = await platform.client.post("/_mock/accounts/wxa/payments/42/notify")
    assert missing.status == 404
    listed = await (await platform.client.get("/_mock/accounts/wxa/payments")).json()
    assert [t["transaction_id"] for t in listed["transactions"]] == [transaction_id]


async def test_pay_without_a_notify_url_pushes_nothing(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    answer = await platform.act("wxa", "o1", "pay")
    assert (answer["delivered"], answer["attempts"]) == (False, 0)
    assert answer["transaction_id"]


def _red_pack(**fields: Any) -> dict[str, Any]:
    body = {
        "mch_billno": "wxg0000000100000000000000001",
        "mch_id": "1900000109",
        "wxappid": "wxa",
        "send_name": "Shop",
        "re_openid": "o1",
        "total_amount": 100,
        "total_num": 1,
        "wishing": "Thanks",
        "act_name": "Gift",
        "remark": "Gift",
    }
    body.update(fields)
    return body


async def test_red_packs_are_paid_once_per_mch_billno(
    platform: Platform, merchant: Merchant
) -> None:
    await _register(platform, merchant)
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    first = await platform.call(REDPACK, token, _red_pack())
    assert first["errcode"] == 0 and first["send_listid"]
    again = await platform.call(REDPACK, token, _red_pack())
    assert again["errcode"] == 0 and again["send_listid"] == first["send_listid"]
    other = await platform.call(REDPACK, token, _red_pack(total_amount=200))
    assert other["errcode"] == 47003
    log = await platform.sent("wxa")
    assert [(r["delivered"], r["verdict"][:9]) for r in log] == [
        (True, "ok"),
        (False, "duplicate"),
        (False, "refused: "),
    ]
    listed = await (await platform.client.get("/_mock/accounts/wxa/payments")).json()
    assert [s["kind"] for s in listed["sends"]] == ["red_pack"]


@pytest.mark.parametrize(
    ("fields", "errcode"),
    [
        ({"total_amount": 99}, 47003),
        ({"total_amount": 20001}, 47003),
        ({"total_amount": "100"}, 47001),
        ({"total_num": 2}, 47003),
        ({"wishing": ""}, 47001),
        ({"act_name": "x" * 33}, 47001),
        ({"mch_billno": "has-dash"}, 47001),
        ({"mch_billno": "x" * 29}, 47001),
        ({"wxappid": "wxother"}, 40013),
        ({"mch_id": "1234"}, 47003),
        ({"re_openid": "never-seen"}, 43004),
    ],
)
async def test_red_pack_rules(
    platform: Platform, merchant: Merchant, fields: dict[str, Any], errcode: int
) -> None:
    await _register(platform, merchant)
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    assert (await platform.call(REDPACK, token, _red_pack(**fields)))["errcode"] == errcode


async def test_subscription_accounts_cannot_pay(platform: Platform) -> None:
    await platform.register("wxs", "subscription")
    token = await platform.token("wxs")
    answer = await platform.call(REDPACK, token, _red_pack(wxappid="wxs"))
    assert answer["errcode"] == 48001
    coupon = {"coupon_stock_id": "1", "openid_count": 1, "partner_trade_no": "p1"}
    answer = await platform.call(COUPON, token, {**coupon, "openid": "o1", "appid": "wxs"})
    assert answer["errcode"] == 48001


async def test_coupons(platform: Platform, merchant: Merchant) -> None:
    await _register(platform, merchant)
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    body = {
        "coupon_stock_id": "9856888",
        "openid_count": 1,
        "partner_trade_no": "wxg0000000100000000000000002",
        "openid": "o1",
        "appid": "wxa",
        "mch_id": "1900000109",
    }
    first = await platform.call(COUPON, token, body)
    assert first["errcode"] == 0 and first["coupon_id"]
    assert (await platform.call(COUPON, token, body))["coupon_id"] == first["coupon_id"]
    assert (await platform.call(COUPON, token, {**body, "openid_count": 2}))["errcode"] == 47003
    assert (await platform.call(COUPON, token, {**body, "coupon_stock_id": ""}))["errcode"] == 47001
