"""Passive replies (SPEC 8, wechat-platform.md 4.3): the JSON shape of one reply, checked
against WeChat's limits, as a frozen value. Pure: a JSON value in, a Reply or Problems out.

The shape follows WeChat's customer-service JSON (`{"msgtype": "text", "text": {...}}`), the
same one the messages API takes. Byte limits are of UTF-8.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from gateway import errors

TEXT_MAX_BYTES = 2048
ID_MAX_BYTES = 256
SHORT_MAX_BYTES = 512
URL_MAX_BYTES = 2048
KF_ACCOUNT_MAX_BYTES = 64
# One article when answering a user message (since 2018-10-12); events allow up to 8.
NEWS_MAX_USER_MESSAGE = 1
NEWS_MAX_EVENT = 8

MSGTYPES = ("text", "image", "voice", "video", "music", "news", "transfer_customer_service")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One reason a rule set or reply is refused, at `loc` (pydantic's loc shape)."""

    loc: tuple[str | int, ...]
    msg: str

    @property
    def path(self) -> str:
        """`rules[3].reply.text.content`"""
        out = ""
        for part in self.loc:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


class Invalid(errors.WxgateError, ValueError):
    """The value breaks the shape or a limit; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.msg}" for p in problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class Reply:
    """One passive reply: its msgtype and its object (only the known keys, as given)."""

    msgtype: str
    body: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        if self.msgtype == "transfer_customer_service" and not self.body:
            return {"msgtype": self.msgtype}
        return {"msgtype": self.msgtype, self.msgtype: dict(self.body)}

    @property
    def articles(self) -> int:
        return len(self.body.get("articles", ())) if self.msgtype == "news" else 0


# msgtype -> {field: (required, max bytes)}
_FIELDS: Mapping[str, Mapping[str, tuple[bool, int]]] = {
    "text": {"content": (True, TEXT_MAX_BYTES)},
    "image": {"media_id": (True, ID_MAX_BYTES)},
    "voice": {"media_id": (True, ID_MAX_BYTES)},
    "video": {
        "media_id": (True, ID_MAX_BYTES),
        "title": (False, SHORT_MAX_BYTES),
        "description": (False, SHORT_MAX_BYTES),
    },
    "music": {
        "thumb_media_id": (True, ID_MAX_BYTES),
        "title": (False, SHORT_MAX_BYTES),
        "description": (False, SHORT_MAX_BYTES),
        "musicurl": (False, URL_MAX_BYTES),
        "hqmusicurl": (False, URL_MAX_BYTES),
    },
    "transfer_customer_service": {"kf_account": (False, KF_ACCOUNT_MAX_BYTES)},
}
_ARTICLE: Mapping[str, tuple[bool, int]] = {
    "title": (True, SHORT_MAX_BYTES),
    "description": (False, SHORT_MAX_BYTES),
    "url": (False, URL_MAX_BYTES),
    "picurl": (False, URL_MAX_BYTES),
}


def text_problem(value: object, max_bytes: int) -> str | None:
    """Why `value` is not a non-empty string of at most `max_bytes` UTF-8 bytes storable in
    XML and Postgres, or None."""
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid Unicode"
    if size > max_bytes:
        return f"must be at most {max_bytes} bytes of UTF-8 (it is {size})"
    if any(ord(c) < 0x20 and c not in "\t\n\r" for c in value) or "\ufffe" in value:
        return "holds a character XML cannot carry"
    return None


def check_object(
    value: object, fields: Mapping[str, tuple[bool, int]], loc: tuple[str | int, ...]
) -> tuple[dict[str, str], list[Problem]]:
    """A JSON object of string fields: the known ones checked, unknown ones refused."""
    if not isinstance(value, Mapping):
        return {}, [Problem(loc, "must be an object")]
    problems: list[Problem] = []
    out: dict[str, str] = {}
    for name in value:
        if name not in fields:
            problems.append(Problem((*loc, str(name)), "unknown field"))
    for name, (required, limit) in fields.items():
        if name not in value:
            if required:
                problems.append(Problem((*loc, name), "is required"))
            continue
        why = text_problem(value[name], limit)
        if why is not None:
            problems.append(Problem((*loc, name), why))
        else:
            out[name] = value[name]
    return out, problems


def _news(value: object, loc: tuple[str | int, ...]) -> tuple[dict[str, Any], list[Problem]]:
    if not isinstance(value, Mapping):
        return {}, [Problem(loc, "must be an object")]
    problems = [Problem((*loc, str(k)), "unknown field") for k in value if k != "articles"]
    articles = value.get("articles")
    if not isinstance(articles, list) or not articles:
        return {}, [*problems, Problem((*loc, "articles"), "must be a list of 1 or more")]
    if len(articles) > NEWS_MAX_EVENT:
        problems.append(Problem((*loc, "articles"), f"at most {NEWS_MAX_EVENT} articles"))
    checked = []
    for n, article in enumerate(articles):
        item, found = check_object(article, _ARTICLE, (*loc, "articles", n))
        problems.extend(found)
        checked.append(item)
    return {"articles": checked}, problems


def parse_reply(value: object, loc: tuple[str | int, ...] = ("reply",)) -> Reply:
    """The reply `value` checked against the shape and WeChat's limits (Invalid otherwise)."""
    if not isinstance(value, Mapping):
        raise Invalid([Problem(loc, "must be an object")])
    msgtype = value.get("msgtype")
    if msgtype not in MSGTYPES:
        raise Invalid([Problem((*loc, "msgtype"), f"must be one of {', '.join(MSGTYPES)}")])
    assert isinstance(msgtype, str)
    problems = [
        Problem((*loc, str(k)), "unknown field") for k in value if k not in ("msgtype", msgtype)
    ]
    body: dict[str, Any] = {}
    if msgtype == "transfer_customer_service" and msgtype not in value:
        pass  # no body: WeChat routes to any agent
    elif msgtype not in value:
        problems.append(Problem((*loc, msgtype), "is required"))
    elif msgtype == "news":
        body, found = _news(value[msgtype], (*loc, msgtype))
        problems.extend(found)
    else:
        body, found = check_object(value[msgtype], _FIELDS[msgtype], (*loc, msgtype))
        problems.extend(found)
    if problems:
        raise Invalid(problems)
    return Reply(msgtype, body)
