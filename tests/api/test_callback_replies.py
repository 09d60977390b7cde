"""Passive replies over HTTP through the callback route (SPEC 8): every match kind and reply
type, both encryption modes decrypted by wechatpy, retries answered with the stored reply
after the rules changed, rule sets at the limits, RE2 against a backtracking bomb."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import pytest

from gateway import settings as settings_mod
from gateway.api import passive
from gateway.domain import reply_match
from gateway.store import replies as reply_store
from tests import wx
from tests.api import replyhelp as rh

Client = rh.Client


@pytest.fixture
def settings(settings: settings_mod.Settings) -> settings_mod.Settings:
    return settings.model_copy(update={"webhook_allow_private": True})


def now() -> int:
    return int(time.time())


RULES = [
    rh.rule("welcome", {"on": "subscribe"}),
    rh.rule("fair", {"on": "scan", "scene": "spring-fair"}),
    rh.rule("any-scan", {"on": "scan"}),
    rh.rule("news-click", {"on": "click", "key": "NEWS"}),
    rh.rule("hours", {"on": "text", "keyword": "hours", "mode": "exact"}),
    rh.rule("order", {"on": "text", "keyword": "order", "mode": "contains"}),
    rh.rule("help", {"on": "text", "keyword": "help", "mode": "prefix"}),
    rh.rule("code", {"on": "text", "regex": "^[0-9]{6}$"}),
    rh.rule("picture", {"on": "message"}),
]

KINDS = [
    (lambda: wx.event("subscribe", "", create_time=now()), "welcome"),
    (lambda: wx.event("SCAN", "spring-fair", create_time=now(), Ticket="t"), "fair"),
    (lambda: wx.event("SCAN", "other", create_time=now(), Ticket="t"), "any-scan"),
    (lambda: wx.event("CLICK", "NEWS", create_time=now()), "news-click"),
    (lambda: wx.text("HOURS", create_time=now()), "hours"),
    (lambda: wx.text("my Order?", create_time=now()), "order"),
    (lambda: wx.text("help me", create_time=now()), "help"),
    (lambda: wx.text("123456", create_time=now()), "code"),
    (
        lambda: {
            **wx.text("x", create_time=now()),
            "MsgType": "image",
            "PicUrl": "p",
            "MediaId": "m",
        },
        "picture",
    ),
    (lambda: wx.event("unsubscribe", create_time=now()), None),
    (lambda: wx.event("VIEW", "https://example.com", create_time=now()), None),
    (
        lambda: wx.event("LOCATION", create_time=now(), Latitude="1", Longitude="2", Precision="3"),
        None,
    ),
]


@pytest.mark.parametrize(("make", "expected"), KINDS)
async def test_every_match_kind(client: Client, make: Any, expected: str | None) -> None:
    await rh.account(client)
    await rh.put_rules(client, RULES)
    answer = await rh.post(client, make())
    assert answer.status == 200
    fields = answer.fields()
    if expected is None:
        assert answer.body == "success"
        return
    assert fields is not None
    assert fields["Content"] == expected
    assert fields["ToUserName"] == wx.OPENID and fields["FromUserName"] == rh.ORIGINAL_ID


REPLIES = [
    (rh.text_reply("hi"), {"MsgType": "text", "Content": "hi"}),
    (
        {"msgtype": "image", "image": {"media_id": "M"}},
        {"MsgType": "image", "Image": {"MediaId": "M"}},
    ),
    (
        {"msgtype": "voice", "voice": {"media_id": "V"}},
        {"MsgType": "voice", "Voice": {"MediaId": "V"}},
    ),
    (
        {"msgtype": "video", "video": {"media_id": "V", "title": "T"}},
        {"MsgType": "video", "Video": {"MediaId": "V", "Title": "T"}},
    ),
    (
        {"msgtype": "music", "music": {"thumb_media_id": "TH", "musicurl": "https://m"}},
        {"MsgType": "music", "Music": {"MusicUrl": "https://m", "ThumbMediaId": "TH"}},
    ),
    (
        {"msgtype": "news", "news": {"articles": [{"title": "A", "url": "https://u"}]}},
        {
            "MsgType": "news",
            "ArticleCount": "1",
            "Articles": {"items": [{"Title": "A", "Url": "https://u"}]},
        },
    ),
    ({"msgtype": "transfer_customer_service"}, {"MsgType": "transfer_customer_service"}),
]


@pytest.mark.parametrize(("reply", "expected"), REPLIES)
async def test_every_reply_type(
    client: Client, reply: dict[str, Any], expected: dict[str, Any]
) -> None:
    await rh.account(client)
    await rh.put_rules(client, [rh.rule("any", {"on": "message"}, reply)])
    fields = (await rh.post(client, wx.text("x", create_time=now()))).fields()
    assert fields is not None
    assert {k: fields[k] for k in expected} == expected


async def test_news_of_eight_articles_answers_a_subscribe(client: Client) -> None:
    await rh.account(client)
    articles = [{"title": f"A{i}", "url": f"https://u/{i}"} for i in range(8)]
    news = {"msgtype": "news", "news": {"articles": articles}}
    await rh.put_rules(client, [rh.rule("welcome", {"on": "subscribe"}, news)])
    fields = (await rh.post(client, wx.event("subscribe", "qrscene_x", create_time=now()))).fields()
    assert fields is not None and fields["ArticleCount"] == "8"
    assert len(fields["Articles"]["items"]) == 8


@pytest.mark.parametrize(
    ("account_mode", "post_mode"),
    [("safe", "safe"), ("compatible", "compatible"), ("compatible", "plain")],
)
async def test_encryption_modes(client: Client, account_mode: str, post_mode: str) -> None:
    await rh.account(client, account_mode)
    await rh.put_rules(client, [rh.rule("welcome", {"on": "subscribe"})])
    answer = await rh.post(client, wx.event("subscribe", "", create_time=now()), post_mode)
    assert answer.status == 200
    if post_mode == "plain":  # compatible mode, a plaintext callback: a plaintext reply
        assert "<Encrypt>" not in answer.body
    else:
        assert "<Encrypt>" in answer.body and "welcome" not in answer.body
    fields = answer.fields(post_mode)
    assert fields is not None and fields["Content"] == "welcome"


async def test_a_retry_gets_the_stored_reply_after_the_rules_changed(
    client: Client, pool: asyncpg.Pool
) -> None:
    await rh.account(client, "safe")
    await rh.put_rules(client, [rh.rule("first", {"on": "text", "keyword": "hi"})])
    send = await rh.post_same(client, wx.text("hi", create_time=now()), "safe")
    first = await send()
    await rh.put_rules(client, [rh.rule("second", {"on": "text", "keyword": "hi"})])
    retry = await send()
    assert first.fields("safe")["Content"] == "first"  # type: ignore[index]
    assert retry.fields("safe")["Content"] == "first"  # type: ignore[index]
    fresh = await rh.post(client, wx.text("hi", create_time=now()), "safe")
    assert fresh.fields("safe")["Content"] == "second"  # type: ignore[index]
    stored = await pool.fetch("SELECT reply_xml FROM inbound_events ORDER BY id")
    assert len(stored) == 2 and "first" in stored[0]["reply_xml"]


async def test_a_late_retry_is_answered_from_the_store_without_evaluating_the_rules(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SPEC 8: WeChat's retry (same CreateTime, at least 5 s later) gets the stored reply
    # without a second rule evaluation.
    await rh.account(client, "safe")
    await rh.put_rules(client, [rh.rule("first", {"on": "text", "keyword": "hi"})])
    send = await rh.post_same(client, wx.text("hi", create_time=now() - 6), "safe")
    first = await send()
    await rh.put_rules(client, [rh.rule("second", {"on": "text", "keyword": "hi"})])
    evaluated: list[object] = []
    answer = reply_match.Compiled.answer

    def counting(self: reply_match.Compiled, callback: Any) -> Any:
        evaluated.append(callback)
        return answer(self, callback)

    monkeypatch.setattr(reply_match.Compiled, "answer", counting)
    retry = await send()
    assert first.fields("safe")["Content"] == "first"  # type: ignore[index]
    assert retry.fields("safe")["Content"] == "first"  # type: ignore[index]
    assert evaluated == []
    fresh = await rh.post(client, wx.text("hi", create_time=now() - 6), "safe")
    assert fresh.fields("safe")["Content"] == "second"  # type: ignore[index]
    assert len(evaluated) == 1


async def test_a_fresh_callback_runs_the_rules_without_a_store_look(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A first attempt (CreateTime within passive.RETRY_AGE of our clock) costs no round trip
    # before the rules; its duplicate is still answered with the stored reply by the commit.
    await rh.account(client, "safe")
    await rh.put_rules(client, [rh.rule("first", {"on": "text", "keyword": "hi"})])
    looks: list[str] = []
    stored_reply = reply_store.stored_reply

    async def counting(db: Any, account_id: str, dedupe_key: str) -> Any:
        looks.append(dedupe_key)
        return await stored_reply(db, account_id, dedupe_key)

    monkeypatch.setattr(reply_store, "stored_reply", counting)
    send = await rh.post_same(client, wx.text("hi", create_time=now()), "safe")
    first = await send()
    await rh.put_rules(client, [rh.rule("second", {"on": "text", "keyword": "hi"})])
    again = await send()
    assert first.fields("safe")["Content"] == "first"  # type: ignore[index]
    assert again.fields("safe")["Content"] == "first"  # type: ignore[index]
    assert looks == []
    late = await rh.post(client, wx.text("hi", create_time=now() - passive.RETRY_AGE), "safe")
    assert late.fields("safe")["Content"] == "second"  # type: ignore[index]
    assert len(looks) == 1


async def test_a_retry_of_a_callback_answered_success_stays_success(client: Client) -> None:
    await rh.account(client)
    send = await rh.post_same(client, wx.text("hi", create_time=now()))
    assert (await send()).body == "success"
    await rh.put_rules(client, [rh.rule("later", {"on": "message"})])
    assert (await send()).body == "success"


async def test_a_default_reply_for_user_messages_only(client: Client) -> None:
    await rh.account(client)
    await rh.put_rules(client, [], default_reply=rh.text_reply("sorry?"))
    text = (await rh.post(client, wx.text("anything", create_time=now()))).fields()
    assert text is not None and text["Content"] == "sorry?"
    assert (await rh.post(client, wx.event("subscribe", "", create_time=now()))).body == "success"


async def test_two_hundred_rules_the_last_one_matching(client: Client) -> None:
    await rh.account(client)
    rules = [
        rh.rule(f"r{i}", {"on": "text", "keyword": f"k{i}", "mode": "contains"}) for i in range(199)
    ]
    rules.append(rh.rule("last", {"on": "text", "regex": "z{3}$"}))
    await rh.put_rules(client, rules)
    fields = (await rh.post(client, wx.text("buzzz", create_time=now()))).fields()
    assert fields is not None and fields["Content"] == "last"


async def test_a_backtracking_bomb_is_answered_fast(client: Client) -> None:
    await rh.account(client)
    await rh.put_rules(
        client,
        [rh.rule("bomb", {"on": "text", "regex": "(a+)+$"}), rh.rule("rest", {"on": "message"})],
    )
    started = time.monotonic()
    fields = (await rh.post(client, wx.text("a" * 50 + "b", create_time=now()))).fields()
    assert time.monotonic() - started < 2.0  # a backtracking engine needs 2^50 steps
    assert fields is not None and fields["Content"] == "rest"


async def test_the_rules_apply_at_once_on_the_process_that_served_the_put(client: Client) -> None:
    await rh.account(client)
    assert (await rh.post(client, wx.text("a", create_time=now()))).body == "success"
    await rh.put_rules(client, [rh.rule("now", {"on": "message"})])
    fields = (await rh.post(client, wx.text("b", create_time=now()))).fields()
    assert fields is not None and fields["Content"] == "now"
