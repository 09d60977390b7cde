"""Mass messages: list sizes, clientmsgid, per-follower and per-account quotas, job-finish."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.mock.conftest import Clock, Platform

SEND = "/cgi-bin/message/mass/send"
SENDALL = "/cgi-bin/message/mass/sendall"


def by_list(openids: list[str], content: str = "news", **extra: Any) -> dict[str, Any]:
    return {"touser": openids, "msgtype": "text", "text": {"content": content}, **extra}


def to_all(content: str = "news", **extra: Any) -> dict[str, Any]:
    body = {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": content}}
    return {**body, **extra}


async def _followers(platform: Platform, app_id: str, *openids: str) -> None:
    for openid in openids:
        await platform.act(app_id, openid, "subscribe")


async def test_mass_send_on_subscription_account_is_48001(platform: Platform) -> None:
    await platform.register("wxs", "subscription")
    await _followers(platform, "wxs", "o1", "o2")
    token = await platform.token("wxs")
    assert (await platform.call(SEND, token, by_list(["o1", "o2"])))["errcode"] == 48001


@pytest.mark.parametrize("size", [0, 1, 10_001])
async def test_openid_list_size_is_40032(platform: Platform, size: int) -> None:
    await platform.register("wxa")
    token = await platform.token("wxa")
    openids = [f"o{i}" for i in range(size)]
    answer = await platform.call(SEND, token, by_list(openids))
    assert answer["errcode"] == 40032
    assert answer["errmsg"].startswith("invalid openid list size rid: ")


async def test_mass_send_and_its_job_finish(platform: Platform) -> None:
    await platform.register("wxa", aes=True)
    await _followers(platform, "wxa", "o1", "o2")
    token = await platform.token("wxa")
    answer = await platform.call(SEND, token, by_list(["o1", "o2", "gone"]))
    assert answer["errcode"] == 0 and answer["errmsg"] == "send job submission success"
    push = await platform.gateway.wait_for(
        lambda p: p["fields"].get("Event") == "MASSSENDJOBFINISH"
    )
    fields = push["fields"]
    assert fields["MsgID"] == str(answer["msg_id"]) and fields["Status"] == "send success"
    counts = [fields[k] for k in ("TotalCount", "FilterCount", "SentCount", "ErrorCount")]
    assert counts == ["3", "2", "2", "0"]
    verdict = (await platform.sent("wxa"))[-1]["verdict"]
    assert verdict == "violation: sent to 1 recipient(s) not subscribed (gone)"
    assert (await platform.follower("wxa", "o1"))["mass"]["used"] == 1


async def test_repeated_clientmsgid_is_45065(platform: Platform) -> None:
    await platform.register("wxa")
    await _followers(platform, "wxa", "o1", "o2")
    token = await platform.token("wxa")
    first = await platform.call(SEND, token, by_list(["o1", "o2"], clientmsgid="batch-1"))
    again = await platform.call(SEND, token, by_list(["o1", "o2"], "other", clientmsgid="batch-1"))
    assert again["errcode"] == 45065 and again["msg_id"] == first["msg_id"]
    assert again["errmsg"].startswith("clientmsgid exist rid: ")
    # Without a clientmsgid, the platform uses a digest of audience and content.
    plain = await platform.call(SEND, token, by_list(["o2", "o1"], "digest me"))
    repeat = await platform.call(SEND, token, by_list(["o1", "o2"], "digest me"))
    assert repeat["errcode"] == 45065 and repeat["msg_id"] == plain["msg_id"]
    too_long = await platform.call(SEND, token, by_list(["o1", "o2"], clientmsgid="x" * 65))
    assert too_long["errcode"] == 45067
    assert (await platform.follower("wxa", "o1"))["mass"]["used"] == 2  # nothing sent twice


async def test_quota_of_four_a_month_resets_with_the_shanghai_month(
    platform: Platform, clock: Clock
) -> None:
    clock.now = datetime(2024, 6, 30, 15, 0, tzinfo=UTC)  # 23:00 on 30 June in Shanghai
    await platform.register("wxa")
    await _followers(platform, "wxa", "o1", "o2")
    token = await platform.token("wxa")
    await platform.act("wxa", "o3", "subscribe")
    for n in range(4):
        answer = await platform.call(SEND, token, by_list(["o1", "o2"], f"issue {n}"))
        assert answer["errcode"] == 0
    fifth = await platform.call(SEND, token, by_list(["o1", "o3"], "issue 5"))
    assert fifth["errcode"] == 0  # filtered, not refused
    verdict = (await platform.sent("wxa"))[-1]["verdict"]
    assert verdict == "violation: sent to 1 recipient(s) over the 4/month mass quota (o1)"
    view = await platform.follower("wxa", "o1")
    assert view["mass"] == {"month": "2024-06", "used": 4, "limit": 4, "remaining": 0}
    clock.now = datetime(2024, 6, 30, 16, 0, tzinfo=UTC)  # 00:00 on 1 July in Shanghai
    token = await platform.token("wxa")
    sixth = await platform.call(SEND, token, by_list(["o1", "o2"], "issue 6"))
    assert sixth["errcode"] == 0
    assert (await platform.sent("wxa"))[-1]["verdict"] == "ok"
    assert (await platform.follower("wxa", "o1"))["mass"]["used"] == 1


async def test_subscription_sendall_once_per_shanghai_day(platform: Platform, clock: Clock) -> None:
    clock.now = datetime(2024, 6, 10, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    await platform.register("wxs", "subscription")
    await _followers(platform, "wxs", "o1", "o2")
    token = await platform.token("wxs")
    assert (await platform.call(SENDALL, token, to_all("morning")))["errcode"] == 0
    second = await platform.call(SENDALL, token, to_all("evening"))
    assert second["errcode"] == 45028
    assert second["errmsg"].startswith("has no masssend quota rid: ")
    assert (await platform.sent("wxs"))[-1]["verdict"].startswith("refused: has no masssend")
    clock.now = datetime(2024, 6, 10, 16, 0, tzinfo=UTC)  # 00:00 the next day in Shanghai
    token = await platform.token("wxs")
    assert (await platform.call(SENDALL, token, to_all("evening")))["errcode"] == 0
    # A retry of that send (same audience and content) learns its msg_id: 45065, not 45028.
    clock.advance(hours=1)
    assert (await platform.call(SENDALL, token, to_all("evening")))["errcode"] == 45065


async def test_service_to_all_once_a_day_four_a_month(platform: Platform, clock: Clock) -> None:
    clock.now = datetime(2024, 6, 1, 1, 0, tzinfo=UTC)
    await platform.register("wxa")
    await _followers(platform, "wxa", "o1", "o2")
    for day in range(4):
        token = await platform.token("wxa")
        assert (await platform.call(SENDALL, token, to_all(f"day {day}")))["errcode"] == 0
        again = await platform.call(SENDALL, token, to_all(f"day {day} again"))
        assert again["errcode"] == 45028
        clock.advance(days=1)
    token = await platform.token("wxa")
    assert (await platform.call(SENDALL, token, to_all("fifth")))["errcode"] == 45028


async def test_sendall_to_a_one_member_tag(platform: Platform) -> None:
    await platform.register("wxa")
    await _followers(platform, "wxa", "o1", "o2")
    token = await platform.token("wxa")
    tag = await platform.call("/cgi-bin/tags/create", token, {"tag": {"name": "reach-o1"}})
    tag_id = tag["tag"]["id"]
    members = {"openid_list": ["o1"], "tagid": tag_id}
    assert (await platform.call("/cgi-bin/tags/members/batchtagging", token, members))[
        "errcode"
    ] == 0
    for n in range(5):
        body = {"filter": {"is_to_all": False, "tag_id": tag_id}, "msgtype": "text"}
        answer = await platform.call(SENDALL, token, {**body, "text": {"content": f"m{n}"}})
        assert answer["errcode"] == 0
    log = await platform.sent("wxa")
    assert [e["verdict"] for e in log[-5:-1]] == ["ok"] * 4
    assert log[-1]["verdict"].startswith("violation: sent to 1 recipient(s) over the 4/month")
    assert (await platform.follower("wxa", "o1"))["mass"]["used"] == 4
    assert (await platform.follower("wxa", "o2"))["mass"]["used"] == 0
    unknown = {"filter": {"is_to_all": False, "tag_id": 999}, "msgtype": "text"}
    answer = await platform.call(SENDALL, token, {**unknown, "text": {"content": "x"}})
    assert answer["errcode"] == 45159
