"""Which rule answers a callback: a table of callbacks against one rule set, plus the
first-in-order rule, the default reply, events never answered and RE2's linear time."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gateway.domain import reply_match

M = reply_match


def _rule(name: str, match: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "match": match, "reply": {"msgtype": "text", "text": {"content": name}}}


RULES = reply_match.compiled_from_json(
    {
        "rules": [
            _rule("welcome", {"on": "subscribe"}),
            _rule("fair", {"on": "scan", "scene": "spring-fair"}),
            _rule("any-scan", {"on": "scan"}),
            _rule("menu-news", {"on": "click", "key": "NEWS"}),
            _rule("hours", {"on": "text", "keyword": "Opening Hours", "mode": "exact"}),
            _rule("order", {"on": "text", "keyword": "order", "mode": "contains"}),
            _rule("help", {"on": "text", "keyword": "help", "mode": "prefix"}),
            _rule("digits", {"on": "text", "regex": "^[0-9]{6}$"}),
            _rule("full-width", {"on": "text", "keyword": "ABC", "mode": "exact"}),
        ],
        "default_reply": {"msgtype": "text", "text": {"content": "default"}},
    }
)


def _cb(
    msg_type: str, event: str | None = None, key: str | None = None, text: str | None = None
) -> M.Callback | None:
    return M.callback_of(msg_type, event, key, text)


TABLE = [
    (_cb("event", "subscribe", ""), "welcome"),
    (_cb("event", "subscribe", None), "welcome"),
    (_cb("event", "subscribe", "qrscene_spring-fair"), "welcome"),  # subscribe comes first
    (_cb("event", "SCAN", "spring-fair"), "fair"),
    (_cb("event", "SCAN", "other"), "any-scan"),
    (_cb("event", "CLICK", "NEWS"), "menu-news"),
    (_cb("event", "CLICK", "news"), None),  # keys are exact
    (_cb("text", text="opening hours"), "hours"),
    (_cb("text", text="OPENING HOURS"), "hours"),
    (_cb("text", text="opening hours?"), "default"),  # exact is exact
    (_cb("text", text="where is my ORDER please"), "order"),
    (_cb("text", text="Help me"), "help"),
    (_cb("text", text="I need help"), "default"),  # prefix, not contains
    (_cb("text", text="123456"), "digits"),
    (_cb("text", text="1234567"), "default"),
    (_cb("text", text="ＡＢＣ"), "full-width"),  # NFKC: full-width letters are ASCII
    (_cb("text", text="ｈｅｌｐ!"), "help"),
    (_cb("image"), "default"),
    (_cb("voice"), "default"),
    (_cb("location"), "default"),  # a location *message* is a user message
    (_cb("link"), "default"),
    (_cb("shortvideo"), "default"),
    (_cb("file"), "default"),
    (_cb("event", "unsubscribe"), None),
    (_cb("event", "LOCATION"), None),
    (_cb("event", "VIEW", "https://example.com"), None),
    (_cb("event", "TEMPLATESENDJOBFINISH"), None),
    (_cb("event", "MASSSENDJOBFINISH"), None),
    (_cb("event", "scancode_push", "K"), None),
]


@pytest.mark.parametrize(("callback", "expected"), TABLE)
def test_match_table(callback: M.Callback | None, expected: str | None) -> None:
    reply = RULES.answer(callback)
    got = None if reply is None else reply.body["content"]
    assert got == expected


def test_a_qr_subscribe_answers_to_its_scene_rule_when_that_comes_first() -> None:
    rules = M.compiled_from_json(
        {"rules": [_rule("fair", {"on": "scan", "scene": "f"}), _rule("hi", {"on": "subscribe"})]}
    )
    assert rules.matched(_cb("event", "subscribe", "qrscene_f")) == "fair"
    assert rules.matched(_cb("event", "subscribe", "qrscene_g")) == "hi"
    assert rules.matched(_cb("event", "subscribe", "")) == "hi"


def test_the_first_rule_in_order_answers() -> None:
    rules = M.compiled_from_json(
        {
            "rules": [
                _rule("contains", {"on": "text", "keyword": "b", "mode": "contains"}),
                _rule("exact", {"on": "text", "keyword": "abc"}),
                _rule("any", {"on": "message"}),
                _rule("regex", {"on": "text", "regex": "c"}),
            ]
        }
    )
    assert rules.matched(_cb("text", text="abc")) == "contains"
    assert rules.matched(_cb("text", text="zzc")) == "any"
    assert rules.matched(_cb("image")) == "any"
    exact_first = M.compiled_from_json(
        {
            "rules": [
                _rule("exact", {"on": "text", "keyword": "abc"}),
                _rule("contains", {"on": "text", "keyword": "b", "mode": "contains"}),
            ]
        }
    )
    assert exact_first.matched(_cb("text", text="ABC")) == "exact"


def test_no_default_means_no_reply_and_events_never_take_the_default() -> None:
    rules = M.compiled_from_json({"rules": [_rule("hi", {"on": "text", "keyword": "hi"})]})
    assert rules.answer(_cb("text", text="hello")) is None
    only_default = M.compiled_from_json(
        {"rules": [], "default_reply": {"msgtype": "text", "text": {"content": "d"}}}
    )
    assert only_default.answer(_cb("text", text="x")) is not None
    assert only_default.answer(_cb("event", "subscribe", "")) is None
    assert only_default.answer(_cb("event", "CLICK", "K")) is None
    assert M.EMPTY.answer(_cb("text", text="x")) is None


def test_a_backtracking_bomb_is_matched_in_linear_time() -> None:
    rules = M.compiled_from_json(
        {"rules": [_rule("bomb", {"on": "text", "regex": "(a+)+$"}), _rule("x", {"on": "message"})]}
    )
    text = "a" * 50 + "b"
    started = time.perf_counter()
    for _ in range(100):
        assert rules.matched(_cb("text", text=text)) == "x"  # no match: the text ends in b
    assert rules.matched(_cb("text", text="a" * 50)) == "bomb"
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5  # Python's re takes hours on this text


def test_two_hundred_rules_that_do_not_match_stay_cheap() -> None:
    rules = M.compiled_from_json(
        {
            "rules": [
                _rule(
                    f"r{i}",
                    {
                        "on": "text",
                        "keyword": f"kw{i}",
                        "mode": ("exact", "contains", "prefix")[i % 3],
                    },
                )
                for i in range(150)
            ]
            + [_rule(f"x{i}", {"on": "text", "regex": f"^zz{i}[0-9]+$"}) for i in range(50)]
        }
    )
    callback = _cb("text", text="where is my parcel, it has been a week")
    started = time.perf_counter()
    for _ in range(1000):
        assert rules.answer(callback) is None
    per_call = (time.perf_counter() - started) / 1000
    assert per_call < 200e-6
