"""The custom menu's format, as WeChat's `/cgi-bin/menu/create` takes it, checked locally.

`problems(body)` lists every way a `{"button": [...]}` body breaks the platform's rules, each
naming the offending path (`button[1].sub_button[2].key`), so that the API answers 422 before
the worker ever calls WeChat. Lengths are UTF-8 bytes, as the platform counts them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_NAME = 16  # bytes, a top-level button
MAX_SUB_NAME = 60  # bytes, a sub-button
MAX_KEY = 128
MAX_URL = 1024
MAX_ID = 1024  # media_id, article_id, appid, pagepath: the platform states no limit

# The fields each button type needs, besides `name` and `type`.
KEYED = ("key",)
TYPES: Mapping[str, tuple[str, ...]] = {
    "click": KEYED,
    "view": ("url",),
    "scancode_push": KEYED,
    "scancode_waitmsg": KEYED,
    "pic_sysphoto": KEYED,
    "pic_photo_or_album": KEYED,
    "pic_weixin": KEYED,
    "location_select": KEYED,
    "media_id": ("media_id",),
    "article_id": ("article_id",),
    "article_view_limited": ("article_id",),
    "miniprogram": ("appid", "pagepath", "url"),
}
_LIMITS = {"key": MAX_KEY, "url": MAX_URL}
Loc = tuple[str | int, ...]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One rule the body breaks, at `loc` (pydantic's shape) or `path` (WeChat's dotted one)."""

    loc: Loc
    message: str

    @property
    def path(self) -> str:
        text = ""
        for part in self.loc:
            text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + part
        return text


def byte_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def problems(body: Any) -> tuple[Problem, ...]:
    """Every problem of a menu body, in document order; () when WeChat's rules hold."""
    if not isinstance(body, Mapping):
        return (Problem((), "the menu must be an object with `button`"),)
    found: list[Problem] = []
    for name in body:
        if name != "button":
            found.append(Problem((str(name),), "unknown field"))
    buttons = body.get("button")
    if not _is_list(buttons):
        found.append(Problem(("button",), "a list of 1 to 3 buttons is required"))
        return tuple(found)
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        found.append(Problem(("button",), f"1 to {MAX_BUTTONS} buttons, not {len(buttons)}"))
    for i, button in enumerate(buttons):
        found.extend(_top(("button", i), button))
    return tuple(found)


def _is_list(value: Any) -> TypeGuard[Sequence[Any]]:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _empty(subs: Any) -> bool:
    """No sub-buttons: the field absent, null, or an empty list (as menu/get shows leaves)."""
    return subs is None or (_is_list(subs) and len(subs) == 0)


def _top(loc: Loc, button: Any) -> list[Problem]:
    if not isinstance(button, Mapping):
        return [Problem(loc, "a button must be an object")]
    subs = button.get("sub_button")
    if _empty(subs):
        return _leaf(loc, button, MAX_NAME)
    if not _is_list(subs):
        return [Problem((*loc, "sub_button"), "must be a list of 0 to 5 buttons")]
    found = _name(loc, button, MAX_NAME)
    for field in button:
        if field not in ("name", "sub_button"):
            found.append(Problem((*loc, str(field)), "a button with sub_button has only a name"))
    if len(subs) > MAX_SUB_BUTTONS:
        found.append(
            Problem((*loc, "sub_button"), f"0 to {MAX_SUB_BUTTONS} buttons, not {len(subs)}")
        )
    for j, sub in enumerate(subs):
        sub_loc = (*loc, "sub_button", j)
        if not isinstance(sub, Mapping):
            found.append(Problem(sub_loc, "a button must be an object"))
        elif not _empty(sub.get("sub_button")):
            found.append(Problem((*sub_loc, "sub_button"), "a sub-button has no sub_button"))
        else:
            found.extend(_leaf(sub_loc, sub, MAX_SUB_NAME))
    return found


def _name(loc: Loc, button: Mapping[str, Any], limit: int) -> list[Problem]:
    name = button.get("name")
    if not isinstance(name, str) or not name:
        return [Problem((*loc, "name"), "a non-empty name is required")]
    if byte_length(name) > limit:
        return [Problem((*loc, "name"), f"at most {limit} bytes, not {byte_length(name)}")]
    return []


def _leaf(loc: Loc, button: Mapping[str, Any], name_limit: int) -> list[Problem]:
    found = _name(loc, button, name_limit)
    kind = button.get("type")
    if not isinstance(kind, str) or kind not in TYPES:
        found.append(Problem((*loc, "type"), "one of " + ", ".join(TYPES)))
        return found
    needed = TYPES[kind]
    for field in button:
        if field not in ("name", "type", "sub_button", *needed):
            found.append(Problem((*loc, str(field)), f"not a field of a {kind} button"))
    for field in needed:
        found.extend(_text(loc, button, field))
    return found


def _text(loc: Loc, button: Mapping[str, Any], field: str) -> list[Problem]:
    value = button.get(field)
    where = (*loc, field)
    if not isinstance(value, str) or not value:
        return [Problem(where, "a non-empty string is required")]
    limit = _LIMITS.get(field, MAX_ID)
    if byte_length(value) > limit:
        return [Problem(where, f"at most {limit} bytes, not {byte_length(value)}")]
    if field == "url" and not value.lower().startswith(("http://", "https://")):
        return [Problem(where, "an http:// or https:// URL is required")]
    return []
