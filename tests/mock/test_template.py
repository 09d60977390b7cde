"""Template messages: service accounts only, subscribed followers, client_msg_id dedupe."""

from __future__ import annotations

from typing import Any

from tests.mock.conftest import Clock, Platform

TEMPLATE = "/cgi-bin/message/template/send"


def template(openid: str, client_msg_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "touser": openid,
        "template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
        "data": {"thing1": {"value": "order shipped"}},
    }
    if client_msg_id is not None:
        body["client_msg_id"] = client_msg_id
    return body


async def test_template_is_sent_and_its_job_finish_pushed(platform: Platform, clock: Clock) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    clock.advance(days=10)  # no window needed
    token = await platform.token("wxa")
    answer = await platform.call(TEMPLATE, token, template("o1"))
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    msgid = answer["msgid"]
    assert isinstance(msgid, int) and msgid >= 10**18
    push = await platform.gateway.wait_for(
        lambda p: p["fields"].get("Event") == "TEMPLATESENDJOBFINISH"
    )
    fields = push["fields"]
    assert fields["MsgID"] == str(msgid) and fields["Status"] == "success"
    assert fields["FromUserName"] == "o1" and push["query"]["openid"] == "o1"
    assert fields["CreateTime"] == str(int(clock.now.timestamp()))


async def test_template_on_subscription_account_is_48001(platform: Platform) -> None:
    await platform.register("wxs", "subscription")
    await platform.act("wxs", "o1", "subscribe")
    token = await platform.token("wxs")
    answer = await platform.call(TEMPLATE, token, template("o1"))
    assert answer["errcode"] == 48001
    assert answer["errmsg"].startswith("api unauthorized rid: ")


async def test_template_to_non_follower_is_43004(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    await platform.act("wxa", "o1", "unsubscribe")
    token = await platform.token("wxa")
    for openid in ("o1", "stranger"):
        answer = await platform.call(TEMPLATE, token, template(openid))
        assert answer["errcode"] == 43004
        assert answer["errmsg"].startswith("require subscribe rid: ")


async def test_client_msg_id_dedupes_for_ten_minutes(platform: Platform, clock: Clock) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    first = await platform.call(TEMPLATE, token, template("o1", "order-42"))
    again = await platform.call(TEMPLATE, token, template("o1", "order-42"))
    assert again == first
    other = await platform.call(TEMPLATE, token, template("o1", "order-43"))
    assert other["msgid"] != first["msgid"]
    clock.advance(minutes=10)
    later = await platform.call(TEMPLATE, token, template("o1", "order-42"))
    assert later["msgid"] != first["msgid"]
    log = await platform.sent("wxa")
    assert [e["delivered"] for e in log] == [True, False, True, True]
    assert log[1]["verdict"] == (
        f"duplicate: client_msg_id order-42 already sent as msgid {first['msgid']}"
    )
    for answer in (first, other, later):
        msgid = str(answer["msgid"])

        def pushed(push: dict[str, Any], msgid: str = msgid) -> bool:
            return bool(push["fields"].get("MsgID") == msgid)

        await platform.gateway.wait_for(pushed)
    finished = [
        p for p in platform.gateway.pushes if p["fields"].get("Event") == "TEMPLATESENDJOBFINISH"
    ]
    assert len(finished) == 3  # the duplicate pushed nothing


async def test_template_shape(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    no_template = {"touser": "o1", "data": {}}
    assert (await platform.call(TEMPLATE, token, no_template))["errcode"] == 40037
    bad_data = {**template("o1"), "data": {"thing1": {"value": 3}}}
    assert (await platform.call(TEMPLATE, token, bad_data))["errcode"] == 47003
