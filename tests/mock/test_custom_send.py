"""Customer-service messages and the 48-hour window, under both rule profiles."""

from __future__ import annotations

import pytest

from tests.mock.conftest import Clock, Platform, text

CUSTOM = "/cgi-bin/message/custom/send"
OUT_OF_TIME = "response out of time limit or subscription is canceled"


@pytest.mark.parametrize("kind", ["service", "subscription"])
async def test_inside_the_window_any_number_is_sent(platform: Platform, kind: str) -> None:
    await platform.register("wxa", kind)
    await platform.act("wxa", "o1", "subscribe")
    await platform.act("wxa", "o1", "text", content="hi")
    token = await platform.token("wxa")
    for _ in range(8):
        assert await platform.call(CUSTOM, token, text("o1")) == {"errcode": 0, "errmsg": "ok"}
    log = await platform.sent("wxa")
    assert [(e["path"], e["errcode"], e["verdict"]) for e in log] == [(CUSTOM, 0, "ok")] * 8
    assert log[0]["body"] == text("o1")


async def test_outside_the_window_is_45015(platform: Platform, clock: Clock) -> None:
    await platform.register("wxa")
    await platform.menu("wxa", "MENU_1")
    await platform.act("wxa", "o1", "subscribe")
    clock.advance(hours=47, minutes=59)
    token = await platform.token("wxa")
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0
    clock.advance(minutes=1)  # exactly 48 h after the interaction: closed
    answer = await platform.call(CUSTOM, token, text("o1"))
    assert answer["errcode"] == 45015
    assert answer["errmsg"].startswith(OUT_OF_TIME + " rid: ")
    assert (await platform.sent("wxa"))[-1]["verdict"] == f"refused: {OUT_OF_TIME}"
    view = await platform.follower("wxa", "o1")
    assert view["window"]["open"] is False
    await platform.act("wxa", "o1", "click", key="MENU_1")  # a counted click reopens it
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0


async def test_location_and_view_do_not_open_the_window(platform: Platform, clock: Clock) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    clock.advance(hours=49)
    token = await platform.token("wxa")
    await platform.act("wxa", "o1", "location", lat=23.1, lng=113.3)
    await platform.act("wxa", "o1", "view", url="https://example.com/menu")
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 45015


async def test_after_unsubscribe_is_45015(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    await platform.act("wxa", "o1", "text", content="hi")
    token = await platform.token("wxa")
    await platform.act("wxa", "o1", "unsubscribe")
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 45015
    assert (await platform.call(CUSTOM, token, text("never-seen")))["errcode"] == 45015
    await platform.act("wxa", "o1", "subscribe")  # re-subscribing is an interaction
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0


async def test_payment_opens_the_window_on_service_accounts(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    answer = await platform.act("wxa", "o1", "pay")
    assert answer["delivered"] is False and answer["attempts"] == 0  # no XML push
    assert platform.gateway.pushes[-1]["fields"]["Event"] == "subscribe"
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0


async def test_wechat_2023_counts_messages(platform: Platform, clock: Clock) -> None:
    await platform.register("wxa", rule_profile="wechat-2023")
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    for _ in range(3):  # a follow allows 3 within a minute
        assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 45047
    clock.advance(minutes=1)
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 45015
    await platform.act("wxa", "o1", "text", content="hello")  # a message allows 5 in 48 h
    for _ in range(5):
        assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0
    answer = await platform.call(CUSTOM, token, text("o1"))
    assert answer["errcode"] == 45047
    assert answer["errmsg"].startswith("out of response count limit rid: ")
    view = await platform.follower("wxa", "o1")
    assert view["window"]["open"] is False and view["window"]["remaining"] == 0
    await platform.act("wxa", "o1", "pay")  # a payment: unlimited within 48 h
    for _ in range(7):
        assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"touser": "o1", "msgtype": "telegram", "telegram": {}}, 40008),
        ({"touser": "o1", "msgtype": "text", "text": {}}, 47001),
        ({"touser": "o1", "msgtype": "text"}, 47001),
        ({"msgtype": "text", "text": {"content": "x"}}, 40003),
        ({"touser": "o1", "msgtype": "image", "image": {"media_id": "m"}}, 0),
    ],
)
async def test_payload_shape_is_checked(
    platform: Platform, body: dict[str, object], errcode: int
) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    assert (await platform.call(CUSTOM, token, body))["errcode"] == errcode


async def test_malformed_json_is_47001(platform: Platform) -> None:
    await platform.register("wxa")
    token = await platform.token("wxa")
    answer = await platform.client.post(CUSTOM, params={"access_token": token}, data=b"{oops")
    body = await answer.json()
    assert body["errcode"] == 47001 and body["errmsg"].startswith("data format error rid: ")
    assert (await platform.sent("wxa"))[-1]["body"] == "{oops"
