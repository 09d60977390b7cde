"""Parametric QR codes: capability, scene validation, images, the permanent-code cap."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.mock import keys, qrcodes, state
from tests.mock.conftest import Clock, Platform

CREATE = "/cgi-bin/qrcode/create"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def qr(action: str, scene: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"action_name": action, "action_info": {"scene": scene}, **extra}


async def test_subscription_account_cannot_create_qr_codes(platform: Platform) -> None:
    await platform.register("wxs", "subscription")
    token = await platform.token("wxs")
    answer = await platform.call(CREATE, token, qr("QR_SCENE", {"scene_id": 1}))
    assert answer["errcode"] == 48001


async def test_temporary_code_image_and_expiry(platform: Platform, clock: Clock) -> None:
    await platform.register("wxa")
    token = await platform.token("wxa")
    created = await platform.call(CREATE, token, qr("QR_STR_SCENE", {"scene_str": "promo"}))
    assert set(created) == {"ticket", "expire_seconds", "url"}
    assert created["expire_seconds"] == 60 and created["url"].startswith("http://weixin.qq.com/q/")
    image = await platform.client.get("/cgi-bin/showqrcode", params={"ticket": created["ticket"]})
    assert image.status == 200 and image.content_type == "image/png"
    assert (await image.read()).startswith(PNG_MAGIC)
    unknown = await platform.client.get("/cgi-bin/showqrcode", params={"ticket": "nope"})
    assert unknown.status == 404
    clock.advance(seconds=60)
    expired = await platform.client.get("/cgi-bin/showqrcode", params={"ticket": created["ticket"]})
    assert expired.status == 404


async def test_permanent_codes_repeat_their_ticket(platform: Platform, clock: Clock) -> None:
    await platform.register("wxa")
    token = await platform.token("wxa")
    first = await platform.call(CREATE, token, qr("QR_LIMIT_SCENE", {"scene_id": 7}))
    assert set(first) == {"ticket", "url"}
    assert await platform.call(CREATE, token, qr("QR_LIMIT_SCENE", {"scene_id": 7})) == first
    clock.advance(days=400)
    image = await platform.client.get("/cgi-bin/showqrcode", params={"ticket": first["ticket"]})
    assert image.status == 200


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        (qr("QR_SCENE", {"scene_id": 0}), 40053),
        (qr("QR_SCENE", {"scene_id": 2**31}), 40053),
        (qr("QR_SCENE", {"scene_id": -5}), 0),
        (qr("QR_LIMIT_SCENE", {"scene_id": 100_001}), 40053),
        (qr("QR_LIMIT_SCENE", {"scene_id": 100_000}), 0),
        (qr("QR_STR_SCENE", {"scene_str": ""}), 40053),
        (qr("QR_LIMIT_STR_SCENE", {"scene_str": "x" * 65}), 40053),
        (qr("QR_LIMIT_STR_SCENE", {"scene_str": "x" * 64}), 0),
        (qr("QR_SCENE", {"scene_id": 1}, expire_seconds=2_592_001), 40097),
        (qr("QR_SCENE", {"scene_id": 1}, expire_seconds=2_592_000), 0),
        (qr("QR_MAGIC", {"scene_id": 1}), 40097),
        ({"action_name": "QR_SCENE"}, 40053),
    ],
)
async def test_scene_rules(platform: Platform, body: dict[str, Any], errcode: int) -> None:
    await platform.register("wxa")
    token = await platform.token("wxa")
    answer = await platform.call(CREATE, token, body)
    assert answer.get("errcode", 0) == errcode, answer


async def test_the_100001st_permanent_code_is_refused(platform: Platform) -> None:
    await platform.register("wxa")
    token = await platform.token("wxa")
    account = platform.client.app[keys.STATE].accounts["wxa"]
    for n in range(1, qrcodes.PERMANENT_LIMIT):  # 99,999 codes made earlier
        account.permanent_scenes[f"QR_LIMIT_STR_SCENE:s{n}"] = f"t{n}"
    assert isinstance(account, state.Account)
    last = await platform.call(CREATE, token, qr("QR_LIMIT_SCENE", {"scene_id": 1}))
    assert "ticket" in last
    over = await platform.call(CREATE, token, qr("QR_LIMIT_SCENE", {"scene_id": 2}))
    assert over["errcode"] == 40053
    temporary = await platform.call(CREATE, token, qr("QR_SCENE", {"scene_id": 2}))
    assert "ticket" in temporary
