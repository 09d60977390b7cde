"""Which reply answers a callback (SPEC 8): the first rule in order that matches, else the
default reply for a user message; never a reply to unsubscribe, LOCATION, VIEW, job-finish
or any other event. Pure. A rule set is compiled once (exact keywords and click keys in
dicts, first-of-kind indexes precomputed) so 200 rules that do not match cost little.
"""

from __future__ import annotations

import dataclasses
import enum
import unicodedata
from typing import Any

import re2

from gateway.domain import reply_content, reply_rules

NOWHERE = 1 << 30  # an index after every rule


class Trigger(enum.Enum):
    MESSAGE = "message"  # any user message (text, image, voice, location, link, ...)
    SUBSCRIBE = "subscribe"
    SCAN = "scan"
    CLICK = "click"


@dataclasses.dataclass(frozen=True)
class Callback:
    """What matching needs of one callback."""

    trigger: Trigger
    text: str | None = None  # a text message's Content
    scene: str | None = None  # SCAN's EventKey, a QR subscribe's scene
    key: str | None = None  # CLICK's EventKey


def normalize(text: str) -> str:
    """Keywords compare case-insensitively after Unicode NFKC."""
    return unicodedata.normalize("NFKC", text).casefold()


def callback_of(
    msg_type: str, event: str | None, event_key: str | None, content: str | None
) -> Callback | None:
    """The callback as matching sees it; None for what is never answered (unsubscribe,
    LOCATION, VIEW, job-finish events, any other event)."""
    if msg_type != "event":
        return Callback(Trigger.MESSAGE, text=content if msg_type == "text" else None)
    if event == "subscribe":
        key = event_key or ""
        scene = key.removeprefix("qrscene_") if key.startswith("qrscene_") else None
        return Callback(Trigger.SUBSCRIBE, scene=scene or None)
    if event == "SCAN":
        return Callback(Trigger.SCAN, scene=event_key or None)
    if event == "CLICK":
        return Callback(Trigger.CLICK, key=event_key or "")
    return None


class _PatternSet:
    """Patterns of rules in one RE2 set: one pass over the text finds all that match, the
    first in rule order answers."""

    def __init__(self, rules: list[tuple[int, str]]) -> None:
        self.first = rules[0][0] if rules else NOWHERE
        self._indexes = [index for index, _ in rules]
        self._set: Any = None
        if rules:
            self._set = re2.Set.SearchSet(reply_rules.regex_options())
            for _, pattern in rules:
                self._set.Add(pattern)
            self._set.Compile()

    def first_match(self, raw: str) -> int:
        if self._set is None:
            return NOWHERE
        found = self._set.Match(raw)
        return min(self._indexes[n] for n in found) if found else NOWHERE


def _first(mapping: dict[str, int], key: str, index: int) -> None:
    mapping.setdefault(key, index)


@dataclasses.dataclass(frozen=True)
class Compiled:
    """A rule set ready to match: per trigger, the first rule index that can answer."""

    rules: reply_rules.RuleSet
    first_message: int  # the first `on: message` rule
    first_subscribe: int
    first_any_scan: int  # `on: scan` without a scene
    scenes: dict[str, int]
    clicks: dict[str, int]
    exact: dict[str, int]  # normalized keyword -> first exact rule
    literals: _PatternSet  # contains and prefix, over the normalized text
    regexes: _PatternSet  # over the text as sent

    @property
    def empty(self) -> bool:
        return self.rules.empty

    def _text_index(self, text: str) -> int:
        norm = normalize(text)
        best = min(self.exact.get(norm, NOWHERE), self.first_message)
        if self.literals.first < best:
            best = min(best, self.literals.first_match(norm))
        if self.regexes.first < best:
            best = min(best, self.regexes.first_match(text))
        return best

    def _index(self, callback: Callback) -> int:
        trigger = callback.trigger
        if trigger is Trigger.MESSAGE:
            if callback.text is None:
                return self.first_message
            return self._text_index(callback.text)
        if trigger is Trigger.SUBSCRIBE:
            # A subscribe through a QR code also answers to the scan rules of its scene.
            best = self.first_subscribe
            if callback.scene is not None:
                best = min(best, self.scenes.get(callback.scene, NOWHERE), self.first_any_scan)
            return best
        if trigger is Trigger.SCAN:
            return min(self.scenes.get(callback.scene or "", NOWHERE), self.first_any_scan)
        return self.clicks.get(callback.key or "", NOWHERE)

    def answer(self, callback: Callback | None) -> reply_content.Reply | None:
        """The reply to `callback`: the first rule that matches, in order; for a user message
        no rule matched, the default reply; otherwise None."""
        if callback is None or self.rules.empty:
            return None
        index = self._index(callback)
        if index < len(self.rules.rules):
            return self.rules.rules[index].reply
        if callback.trigger is Trigger.MESSAGE:
            return self.rules.default_reply
        return None

    def matched(self, callback: Callback | None) -> str | None:
        """The name of the rule that answers, for logs and tests (None: none or default)."""
        if callback is None:
            return None
        index = self._index(callback)
        return self.rules.rules[index].name if index < len(self.rules.rules) else None


def compile_rules(rules: reply_rules.RuleSet) -> Compiled:
    """Compile once per rule set (on load), never per callback."""
    first = {"message": NOWHERE, "subscribe": NOWHERE, "scan": NOWHERE}
    scenes: dict[str, int] = {}
    clicks: dict[str, int] = {}
    exact: dict[str, int] = {}
    literals: list[tuple[int, str]] = []
    regexes: list[tuple[int, str]] = []
    for index, rule in enumerate(rules.rules):
        match = rule.match
        if match.on in ("message", "subscribe"):
            first[match.on] = min(first[match.on], index)
        elif match.on == "scan":
            if match.scene is None:
                first["scan"] = min(first["scan"], index)
            else:
                _first(scenes, match.scene, index)
        elif match.on == "click":
            _first(clicks, match.key or "", index)
        elif match.regex is not None:
            regexes.append((index, match.regex))
        elif match.mode == "exact":
            _first(exact, normalize(match.keyword or ""), index)
        else:
            keyword = re2.escape(normalize(match.keyword or ""))
            literals.append((index, keyword if match.mode == "contains" else "^" + keyword))
    return Compiled(
        rules=rules,
        first_message=first["message"],
        first_subscribe=first["subscribe"],
        first_any_scan=first["scan"],
        scenes=scenes,
        clicks=clicks,
        exact=exact,
        literals=_PatternSet(literals),
        regexes=_PatternSet(regexes),
    )


EMPTY = compile_rules(reply_rules.EMPTY)


def compiled_from_json(value: object) -> Compiled:
    """A stored rule set (checked when saved, checked again here) compiled."""
    return compile_rules(reply_rules.parse_rule_set(value))
