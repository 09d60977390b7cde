"""Follower actions and the pushes they send: signature, AES, event shapes, retries."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.wechat import crypto, reply_xml
from tests.mock.conftest import AES_KEY, TOKEN, Clock, Platform

CREATE_QR = "/cgi-bin/qrcode/create"


@pytest.mark.parametrize("aes", [False, True])
async def test_text_message_push(platform: Platform, clock: Clock, aes: bool) -> None:
    info = await platform.register("wxa", aes=aes)
    assert info["encrypted"] is aes
    await platform.act("wxa", "o1", "subscribe")
    answer = await platform.act("wxa", "o1", "text", content="你好 <world> ]]>")
    assert answer["delivered"] is True and answer["attempts"] == 1 and answer["status"] == 200
    assert answer["reply"] is None and answer["reply_problem"] is None
    assert answer["reply_body"] == "success"
    push = platform.gateway.pushes[-1]
    fields = push["fields"]
    assert fields == {
        "ToUserName": info["original_id"],
        "FromUserName": "o1",
        "CreateTime": str(int(clock.now.timestamp())),
        "MsgType": "text",
        "Content": "你好 <world> ]]>",
        "MsgId": str(answer["msg_id"]),
    }
    assert answer["create_time"] == int(clock.now.timestamp())
    assert push["query"]["openid"] == "o1"
    assert ("encrypt_type" in push["query"]) is aes


async def test_event_shapes(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.menu("wxa", "MENU_HELP")
    token = await platform.token("wxa")
    qr = {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 42}}}
    ticket = (await platform.call(CREATE_QR, token, qr))["ticket"]
    pushes = platform.gateway.pushes
    steps: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"action": "scan", "scene": 42}, {"Event": "subscribe", "EventKey": "qrscene_42"}),
        ({"action": "scan", "scene": 42}, {"Event": "SCAN", "EventKey": "42", "Ticket": ticket}),
        ({"action": "click", "key": "MENU_HELP"}, {"Event": "CLICK", "EventKey": "MENU_HELP"}),
        ({"action": "view", "url": "https://x.example/"}, {"Event": "VIEW"}),
        ({"action": "location", "lat": 23.13, "lng": 113.35}, {"Latitude": "23.130000"}),
        ({"action": "unsubscribe"}, {"Event": "unsubscribe", "EventKey": ""}),
        ({"action": "subscribe"}, {"Event": "subscribe", "EventKey": ""}),
    ]
    for body, expected in steps:
        answer = await platform.act("wxa", "o1", **body)
        assert answer["delivered"] is True
        fields = pushes[-1]["fields"]
        assert fields["MsgType"] == "event"
        assert {k: fields[k] for k in expected} == expected
    assert pushes[0]["fields"]["Ticket"] == ticket


async def test_actions_respect_the_followers_state(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.register("wxs", "subscription")
    client = platform.client
    path = "/_mock/accounts/{}/followers/o1/actions"
    text = {"action": "text", "content": "hi"}
    assert (await client.post(path.format("wxa"), json=text)).status == 409
    assert (await client.post(path.format("wxa"), json={"action": "text"})).status == 409
    await platform.act("wxs", "o1", "subscribe")
    assert (await client.post(path.format("wxs"), json={"action": "pay"})).status == 400
    scan = {"action": "scan", "scene": 1}
    assert (await client.post(path.format("wxs"), json=scan)).status == 400
    assert (await client.post(path.format("wxs"), json={"action": "subscribe"})).status == 409
    assert (await client.post(path.format("wxs"), json={"action": "click"})).status == 400
    assert (await client.post(path.format("nope"), json={"action": "subscribe"})).status == 404
    unknown = await client.get("/_mock/accounts/wxa/followers/o1")
    assert unknown.status == 404


@pytest.mark.parametrize("failure", ["status", "timeout"])
async def test_retries_with_the_identical_body(platform: Platform, failure: str) -> None:
    await platform.register("wxa", aes=True)
    platform.gateway.fail_first, platform.gateway.failure = 2, failure
    answer = await platform.act("wxa", "o1", "subscribe")
    assert answer["delivered"] is True and answer["attempts"] == 3
    assert platform.gateway.attempts == 3
    log = await (await platform.client.get("/_mock/accounts/wxa/callbacks")).json()
    assert log["callbacks"][-1]["attempts"] == 3


async def test_gives_up_after_three_attempts(platform: Platform) -> None:
    await platform.register("wxa")
    platform.gateway.fail_first = 5
    answer = await platform.act("wxa", "o1", "subscribe")
    assert answer == {
        "delivered": False,
        "attempts": 3,
        "status": 500,
        "reply": None,
        "reply_problem": None,
        "reply_body": "try again",
        "create_time": answer["create_time"],
    }
    # The follower did subscribe, whatever became of the push.
    assert (await platform.follower("wxa", "o1"))["subscribed"] is True


async def test_an_invalid_reply_is_reported(platform: Platform) -> None:
    await platform.register("wxa")
    platform.gateway.reply = '{"reply": "json is not accepted"}'
    answer = await platform.act("wxa", "o1", "subscribe")
    assert answer["delivered"] is True and answer["reply_problem"].startswith("reply is not XML")
    platform.gateway.reply = (
        "<xml><ToUserName><![CDATA[o1]]></ToUserName><FromUserName><![CDATA[gh_x]]>"
        "</FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[hi]]></Content></xml>"
    )
    answer = await platform.act("wxa", "o1", "text", content="hello")
    assert answer["reply_problem"] is None
    assert answer["reply"] == {
        "ToUserName": "o1",
        "FromUserName": "gh_x",
        "CreateTime": "1",
        "MsgType": "text",
        "Content": "hi",
    }


async def test_an_encrypted_reply_is_shown_decrypted_and_parsed(platform: Platform) -> None:
    await platform.register("wxa", aes=True)
    await platform.act("wxa", "o1", "subscribe")
    plain = reply_xml.render(
        "news",
        {"articles": [{"title": "A", "url": "https://u/1"}, {"title": "B", "url": "https://u/2"}]},
        "o1",
        "gh_x",
        7,
    )
    cipher = crypto.MessageCrypto(TOKEN, AES_KEY, "wxa")
    platform.gateway.reply = cipher.encrypt_reply(plain, "1700000000", "123")
    answer = await platform.act("wxa", "o1", "text", content="news?")
    assert answer["reply_problem"] is None
    assert answer["reply"] == {
        "ToUserName": "o1",
        "FromUserName": "gh_x",
        "CreateTime": "7",
        "MsgType": "news",
        "ArticleCount": "2",
        "Articles": [{"Title": "A", "Url": "https://u/1"}, {"Title": "B", "Url": "https://u/2"}],
    }
    assert "<Encrypt>" in answer["reply_body"]
