"""The control API: registration, secrets never shown, kind upgrades, logs, mounting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.mock import app as mock_app
from tests.mock.conftest import AES_KEY, Platform, text


async def test_registration_never_returns_secrets(platform: Platform) -> None:
    created = await platform.register("wxa", aes=True, original_id="gh_0123456789ab")
    shown = await (await platform.client.get("/_mock/accounts/wxa")).json()
    assert shown == created
    raw = await (await platform.client.get("/_mock/accounts")).text()
    for secret in ("secret-wxa", AES_KEY, "callbacktoken"):
        assert secret not in raw
    assert shown["original_id"] == "gh_0123456789ab" and shown["rule_profile"] == "seed"
    assert (await platform.client.get("/_mock/accounts/none")).status == 404


async def test_reregistering_updates_and_patch_upgrades(platform: Platform) -> None:
    await platform.register("wxs", "subscription")
    again = await platform.register("wxs", "subscription", rule_profile="wechat-2023")
    assert again["rule_profile"] == "wechat-2023"
    client = platform.client
    upgraded = await client.patch("/_mock/accounts/wxs", json={"kind": "service"})
    assert (await upgraded.json())["kind"] == "service"
    down = await client.patch("/_mock/accounts/wxs", json={"kind": "subscription"})
    assert down.status == 409
    assert (await down.json())["error"]["code"] == "downgrade_not_allowed"
    rotated = await client.patch("/_mock/accounts/wxs", json={"encoding_aes_key": AES_KEY})
    assert (await rotated.json())["encrypted"] is True
    platform.gateway.keys["wxs"] = AES_KEY
    answer = await platform.act("wxs", "o1", "subscribe")
    assert answer["delivered"] is True
    assert platform.gateway.pushes[-1]["query"]["encrypt_type"] == "aes"
    plain = await client.patch("/_mock/accounts/wxs", json={"encoding_aes_key": None})
    assert (await plain.json())["encrypted"] is False
    bad = await client.post("/_mock/accounts", json={"app_id": "x", "kind": "enterprise"})
    assert bad.status == 400


async def test_sent_log_can_be_cleared(platform: Platform) -> None:
    await platform.register("wxa")
    token = await platform.token("wxa")
    await platform.call("/cgi-bin/message/custom/send", token, text("o1"))
    entry = (await platform.sent("wxa"))[0]
    assert set(entry) == {"path", "body", "errcode", "verdict", "at", "delivered"}
    assert entry["at"] == "2024-06-10T04:00:00+00:00"
    assert (await platform.client.delete("/_mock/accounts/wxa/sent")).status == 200
    assert await platform.sent("wxa") == []


async def test_mounted_under_a_prefix(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    parent = web.Application()
    parent.add_subapp("/mock-wechat", mock_app.create_mock_app())
    client = await aiohttp_client(parent)
    account = {
        "app_id": "wxm",
        "app_secret": "s",
        "kind": "service",
        "token": "t",
        "callback_url": "http://127.0.0.1:9/wechat/wxm",
    }
    assert (await client.post("/mock-wechat/_mock/accounts", json=account)).status == 201
    body = {"grant_type": "client_credential", "appid": "wxm", "secret": "s"}
    token = (await (await client.post("/mock-wechat/cgi-bin/stable_token", json=body)).json())[
        "access_token"
    ]
    fault = {"path": "/cgi-bin/message/custom/send", "errcode": -1, "count": 1}
    await client.post("/mock-wechat/_mock/faults", json=fault)
    path = "/mock-wechat/cgi-bin/message/custom/send"
    answer = await client.post(path, params={"access_token": token}, json=text("o1"))
    assert (await answer.json())["errcode"] == -1
    answer = await client.post(path, params={"access_token": token}, json=text("o1"))
    assert (await answer.json())["errcode"] == 45015
    log = await (await client.get("/mock-wechat/_mock/accounts/wxm/sent")).json()
    assert [e["path"] for e in log["sent"]] == ["/cgi-bin/message/custom/send"] * 2
