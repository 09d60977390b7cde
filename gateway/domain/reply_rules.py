"""Reply rules (SPEC 8): what a rule matches and what it answers, the set of at most 200
rules and a default reply, checked when saved. Pure: a JSON value in, a RuleSet or Invalid
(with the offending path) out. Matching is gateway.domain.reply_match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import re2

from gateway.domain import reply_content
from gateway.domain.reply_content import Invalid, Problem

MAX_RULES = 200
MAX_REGEX = 256
NAME_MAX_BYTES = 128
KEYWORD_MAX_BYTES = 256
SCENE_MAX_BYTES = 64  # QR_LIMIT_STR_SCENE: 1 to 64
KEY_MAX_BYTES = 128  # a menu click key
TEXT_MODES = ("exact", "contains", "prefix")
ON = ("subscribe", "scan", "click", "text", "message")
# Matches answered as an event (news up to 8 articles); text and message answer a user
# message (one article).
EVENT_MATCHES = frozenset({"subscribe", "scan", "click"})


@dataclasses.dataclass(frozen=True)
class Match:
    on: str
    scene: str | None = None  # scan: None matches every scene
    key: str | None = None  # click
    keyword: str | None = None  # text, with mode
    mode: str | None = None
    regex: str | None = None  # text, RE2 syntax

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"on": self.on}
        for name in ("scene", "key", "keyword", "mode", "regex"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclasses.dataclass(frozen=True)
class Rule:
    name: str
    match: Match
    reply: reply_content.Reply

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "match": self.match.as_json(), "reply": self.reply.as_json()}


@dataclasses.dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    default_reply: reply_content.Reply | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "rules": [r.as_json() for r in self.rules],
            "default_reply": None if self.default_reply is None else self.default_reply.as_json(),
        }

    @property
    def empty(self) -> bool:
        return not self.rules and self.default_reply is None


EMPTY = RuleSet()

_MATCH_FIELDS: Mapping[str, tuple[str, ...]] = {
    "subscribe": (),
    "scan": ("scene",),
    "click": ("key",),
    "text": ("keyword", "mode", "regex"),
    "message": (),
}


def regex_options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True
    return options


def compile_regex(pattern: str) -> Any:
    """RE2: linear time in the text, whatever the pattern (no backtracking)."""
    return re2.compile(pattern, options=regex_options())


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` is not an RE2 regex of at most MAX_REGEX characters, or None."""
    if len(pattern) > MAX_REGEX:
        return f"must be at most {MAX_REGEX} characters"
    try:
        compile_regex(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        return f"is not an RE2 regex: {text}"
    return None


def _string(value: Mapping[str, Any], name: str, limit: int, loc: tuple[str | int, ...]) -> str:
    why = reply_content.text_problem(value.get(name), limit)
    if why is not None:
        raise Invalid([Problem((*loc, name), why)])
    result: str = value[name]
    return result


def _text_match(value: Mapping[str, Any], loc: tuple[str | int, ...]) -> Match:
    if "regex" in value:
        if "keyword" in value or "mode" in value:
            raise Invalid([Problem(loc, "a text match has a keyword and mode, or a regex")])
        pattern = _string(value, "regex", MAX_REGEX * 4, loc)
        why = regex_problem(pattern)
        if why is not None:
            raise Invalid([Problem((*loc, "regex"), why)])
        return Match("text", regex=pattern)
    keyword = _string(value, "keyword", KEYWORD_MAX_BYTES, loc)
    mode = value.get("mode", "exact")
    if mode not in TEXT_MODES:
        raise Invalid([Problem((*loc, "mode"), f"must be one of {', '.join(TEXT_MODES)}")])
    return Match("text", keyword=keyword, mode=mode)


def parse_match(value: object, loc: tuple[str | int, ...]) -> Match:
    if not isinstance(value, Mapping):
        raise Invalid([Problem(loc, "must be an object")])
    on = value.get("on")
    if on not in ON:
        raise Invalid([Problem((*loc, "on"), f"must be one of {', '.join(ON)}")])
    assert isinstance(on, str)
    unknown = [k for k in value if k != "on" and k not in _MATCH_FIELDS[on]]
    if unknown:
        raise Invalid([Problem((*loc, str(k)), f"unknown field for on={on}") for k in unknown])
    if on == "scan":
        has = "scene" in value and value["scene"] is not None
        return Match("scan", scene=_string(value, "scene", SCENE_MAX_BYTES, loc) if has else None)
    if on == "click":
        return Match("click", key=_string(value, "key", KEY_MAX_BYTES, loc))
    if on == "text":
        return _text_match(value, loc)
    return Match(on)


def _news_limit(reply: reply_content.Reply, user_message: bool, loc: tuple[str | int, ...]) -> None:
    if user_message and reply.articles > reply_content.NEWS_MAX_USER_MESSAGE:
        raise Invalid(
            [Problem((*loc, "news", "articles"), "a reply to a user message has one article")]
        )


def parse_reply_for(
    value: object, user_message: bool, loc: tuple[str | int, ...]
) -> reply_content.Reply:
    """A reply for a user message (one news article at most) or an event (up to 8)."""
    reply = reply_content.parse_reply(value, loc)
    _news_limit(reply, user_message, loc)
    return reply


def parse_rule(value: object, loc: tuple[str | int, ...]) -> Rule:
    if not isinstance(value, Mapping):
        raise Invalid([Problem(loc, "must be an object")])
    unknown = [k for k in value if k not in ("name", "match", "reply")]
    if unknown:
        raise Invalid([Problem((*loc, str(k)), "unknown field") for k in unknown])
    problems: list[Problem] = []
    name = match = reply = None
    try:
        name = _string(value, "name", NAME_MAX_BYTES, loc)
    except Invalid as exc:
        problems.extend(exc.problems)
    try:
        match = parse_match(value.get("match"), (*loc, "match"))
    except Invalid as exc:
        problems.extend(exc.problems)
    try:
        user_message = match is None or match.on not in EVENT_MATCHES
        reply = parse_reply_for(value.get("reply"), user_message, (*loc, "reply"))
    except Invalid as exc:
        problems.extend(exc.problems)
    if problems:
        raise Invalid(problems)
    assert name is not None and match is not None and reply is not None
    return Rule(name, match, reply)


def parse_rule_set(value: object) -> RuleSet:
    """`{"rules": [...], "default_reply"?}` checked in full; Invalid lists every problem
    found (at most one per rule field)."""
    if not isinstance(value, Mapping):
        raise Invalid([Problem((), "must be an object")])
    problems = [Problem((str(k),), "unknown field") for k in value if k not in _TOP]
    rules_value = value.get("rules")
    if not isinstance(rules_value, list):
        raise Invalid([*problems, Problem(("rules",), "must be a list")])
    if len(rules_value) > MAX_RULES:
        raise Invalid([*problems, Problem(("rules",), f"at most {MAX_RULES} rules")])
    rules = []
    for n, item in enumerate(rules_value):
        try:
            rules.append(parse_rule(item, ("rules", n)))
        except Invalid as exc:
            problems.extend(exc.problems)
    default = None
    if value.get("default_reply") is not None:
        try:
            default = parse_reply_for(value["default_reply"], True, ("default_reply",))
        except Invalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise Invalid(problems)
    return RuleSet(tuple(rules), default)


_TOP = ("rules", "default_reply")
