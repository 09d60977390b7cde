"""Reply rules and replies checked against WeChat's limits: at and beyond each limit, with
the offending path."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.domain import reply_content, reply_rules


def _text(content: str = "hi") -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def _news(n: int) -> dict[str, Any]:
    articles = [{"title": f"t{i}", "url": "https://example.com/a"} for i in range(n)]
    return {"msgtype": "news", "news": {"articles": articles}}


def _rule(match: dict[str, Any], reply: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": "r", "match": match, "reply": reply or _text()}


def _paths(value: Any) -> list[str]:
    with pytest.raises(reply_content.Invalid) as info:
        reply_rules.parse_rule_set(value)
    return [p.path for p in info.value.problems]


REPLIES_OK = [
    _text("x" * 2048),
    _text("好" * 682),  # 2046 bytes
    {"msgtype": "image", "image": {"media_id": "m" * 256}},
    {"msgtype": "voice", "voice": {"media_id": "v1"}},
    {"msgtype": "video", "video": {"media_id": "v1", "title": "T", "description": "D"}},
    {"msgtype": "video", "video": {"media_id": "v1"}},
    {
        "msgtype": "music",
        "music": {
            "thumb_media_id": "th",
            "title": "song",
            "musicurl": "https://example.com/m.mp3",
            "hqmusicurl": "https://example.com/hq.mp3",
        },
    },
    _news(1),
    {"msgtype": "transfer_customer_service"},
    {"msgtype": "transfer_customer_service", "transfer_customer_service": {"kf_account": "a@b"}},
]


@pytest.mark.parametrize("reply", REPLIES_OK)
def test_valid_replies_round_trip(reply: dict[str, Any]) -> None:
    rules = reply_rules.parse_rule_set({"rules": [_rule({"on": "message"}, reply)]})
    assert rules.as_json()["rules"][0]["reply"] == reply


REPLIES_BAD = [
    (_text("x" * 2049), "rules[0].reply.text.content"),
    (_text("好" * 683), "rules[0].reply.text.content"),  # 2049 bytes
    (_text(""), "rules[0].reply.text.content"),
    (_text("a\x00b"), "rules[0].reply.text.content"),
    (_text("bell\x07"), "rules[0].reply.text.content"),
    ({"msgtype": "text", "text": {}}, "rules[0].reply.text.content"),
    ({"msgtype": "text"}, "rules[0].reply.text"),
    ({"msgtype": "text", "text": {"content": "a", "x": "b"}}, "rules[0].reply.text.x"),
    ({"msgtype": "mpnews", "mpnews": {}}, "rules[0].reply.msgtype"),
    ({"msgtype": "image", "image": {"media_id": "m" * 257}}, "rules[0].reply.image.media_id"),
    ({"msgtype": "music", "music": {"title": "t"}}, "rules[0].reply.music.thumb_media_id"),
    (_news(2), "rules[0].reply.news.articles"),  # one article for a user message
    ({"msgtype": "news", "news": {"articles": []}}, "rules[0].reply.news.articles"),
    (
        {"msgtype": "news", "news": {"articles": [{"url": "u"}]}},
        "rules[0].reply.news.articles[0].title",
    ),
    ("text", "rules[0].reply"),
]


@pytest.mark.parametrize(("reply", "path"), REPLIES_BAD)
def test_invalid_replies_name_the_path(reply: Any, path: str) -> None:
    assert path in _paths({"rules": [_rule({"on": "message"}, reply)]})


@pytest.mark.parametrize("on", ["subscribe", "click", "scan"])
def test_events_take_news_up_to_eight_articles(on: str) -> None:
    match: dict[str, Any] = {"on": on, "key": "K"} if on == "click" else {"on": on}
    reply_rules.parse_rule_set({"rules": [_rule(match, _news(8))]})
    assert _paths({"rules": [_rule(match, _news(9))]}) == ["rules[0].reply.news.articles"]


@pytest.mark.parametrize("match", [{"on": "text", "keyword": "a"}, {"on": "message"}])
def test_user_messages_take_one_article(match: dict[str, Any]) -> None:
    reply_rules.parse_rule_set({"rules": [_rule(match, _news(1))]})
    assert _paths({"rules": [_rule(match, _news(2))]}) == ["rules[0].reply.news.articles"]
    assert _paths({"rules": [], "default_reply": _news(2)}) == ["default_reply.news.articles"]


def test_two_hundred_rules_at_most() -> None:
    rules = [_rule({"on": "text", "keyword": f"k{i}"}) for i in range(200)]
    assert len(reply_rules.parse_rule_set({"rules": rules}).rules) == 200
    assert _paths({"rules": [*rules, rules[0]]}) == ["rules"]


def test_regex_at_most_256_characters_and_re2_syntax() -> None:
    ok = reply_rules.parse_rule_set({"rules": [_rule({"on": "text", "regex": "a" * 256})]})
    assert ok.rules[0].match.regex == "a" * 256
    assert _paths({"rules": [_rule({"on": "text", "regex": "a" * 257})]}) == [
        "rules[0].match.regex"
    ]
    # Backreferences and lookarounds are not RE2 (they cannot run in linear time).
    for pattern in ["(a)\\1", "a(?=b)", "("]:
        assert _paths({"rules": [_rule({"on": "text", "regex": pattern})]}) == [
            "rules[0].match.regex"
        ]


MATCHES_BAD = [
    ({"on": "text"}, "rules[0].match.keyword"),
    ({"on": "text", "keyword": "a", "mode": "suffix"}, "rules[0].match.mode"),
    ({"on": "text", "keyword": "a", "regex": "a"}, "rules[0].match"),
    ({"on": "click"}, "rules[0].match.key"),
    ({"on": "click", "key": "k" * 129}, "rules[0].match.key"),
    ({"on": "scan", "scene": "s" * 65}, "rules[0].match.scene"),
    ({"on": "subscribe", "scene": "x"}, "rules[0].match.scene"),
    ({"on": "unsubscribe"}, "rules[0].match.on"),
    ({"on": "location"}, "rules[0].match.on"),
    ("text", "rules[0].match"),
]


@pytest.mark.parametrize(("match", "path"), MATCHES_BAD)
def test_invalid_matches_name_the_path(match: Any, path: str) -> None:
    assert _paths({"rules": [_rule(match)]}) == [path]


def test_every_problem_is_listed_with_its_rule_index() -> None:
    rules = [_rule({"on": "message"}), _rule({"on": "bogus"}), _rule({"on": "message"}, _text(""))]
    rules[0]["name"] = ""
    assert _paths({"rules": rules}) == [
        "rules[0].name",
        "rules[1].match.on",
        "rules[2].reply.text.content",
    ]


@pytest.mark.parametrize(
    ("value", "path"),
    [([], ""), ({}, "rules"), ({"rules": {}}, "rules"), ({"rules": [], "x": 1}, "x")],
)
def test_the_body_shape(value: Any, path: str) -> None:
    assert path in _paths(value)


def test_scan_without_scene_and_default_reply_round_trip() -> None:
    value = {"rules": [_rule({"on": "scan"})], "default_reply": _text("sorry?")}
    assert reply_rules.parse_rule_set(value).as_json() == value
