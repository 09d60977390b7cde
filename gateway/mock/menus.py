"""The custom menu: `/cgi-bin/menu/create`, `/cgi-bin/menu/get`, `/cgi-bin/menu/delete`.

The platform's own checks, written apart from the gateway's (which this mock never imports):
40016 button count, 40017 button type, 40018 name length, 40019 key length, 40020 url length,
and for sub-buttons 40022 a sub-button with sub-buttons, 40023 count, 40024 type, 40025 name,
40026 key, 40027 url. Lengths are UTF-8 bytes. A menu/get with no menu is 46003. A `click`
follower action names a key of a click button of the current menu (`click_key`).
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from gateway.mock import calls, errors, state

CREATE_PATH = "/cgi-bin/menu/create"
GET_PATH = "/cgi-bin/menu/get"
DELETE_PATH = "/cgi-bin/menu/delete"

# WeChat's button types and the one field each needs besides name (miniprogram: three).
NEEDS: dict[str, tuple[str, ...]] = {
    "click": ("key",),
    "scancode_push": ("key",),
    "scancode_waitmsg": ("key",),
    "pic_sysphoto": ("key",),
    "pic_photo_or_album": ("key",),
    "pic_weixin": ("key",),
    "location_select": ("key",),
    "view": ("url",),
    "media_id": ("media_id",),
    "article_id": ("article_id",),
    "article_view_limited": ("article_id",),
    "miniprogram": ("url", "appid", "pagepath"),
}
# (type, name, key, url) codes and the name's byte limit: a top-level button, a sub-button.
TOP = (40017, 40018, 40019, 40020, 16)
SUB = (40024, 40025, 40026, 40027, 60)


def _size(value: Any) -> int | None:
    """The UTF-8 length of a string, None for anything else."""
    return len(value.encode("utf-8")) if isinstance(value, str) else None


def _check_button(button: Any, codes: tuple[int, ...], where: str) -> None:
    type_code, name_code, key_code, url_code, name_bytes = codes
    if not isinstance(button, dict):
        raise errors.ApiError(47001, f"{where} is not an object")
    size = _size(button.get("name"))
    if size is None or not 0 < size <= name_bytes:
        raise errors.ApiError(name_code, f"{where}.name")
    kind = button.get("type")
    if kind not in NEEDS:
        raise errors.ApiError(type_code, f"{where}.type")
    for field in NEEDS[kind]:
        size = _size(button.get(field))
        if field == "key" and (size is None or not 0 < size <= 128):
            raise errors.ApiError(key_code, f"{where}.key")
        if field == "url" and (size is None or not 0 < size <= 1024):
            raise errors.ApiError(url_code, f"{where}.url")
        if field in ("media_id", "article_id") and not size:
            raise errors.ApiError(40007, f"{where}.{field}")
        if field in ("appid", "pagepath") and not size:
            raise errors.ApiError(47001, f"{where}.{field} is required")


def check(body: dict[str, Any]) -> None:
    """Refuse a menu the way the platform does: the first problem's code."""
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise errors.ApiError(40016)
    for i, button in enumerate(buttons):
        where = f"button[{i}]"
        subs = button.get("sub_button") if isinstance(button, dict) else None
        if not subs:
            _check_button(button, TOP, where)
            continue
        if not isinstance(subs, list) or len(subs) > 5:
            raise errors.ApiError(40023, f"{where}.sub_button")
        size = _size(button.get("name"))
        if size is None or not 0 < size <= 16:
            raise errors.ApiError(40018, f"{where}.name")
        for j, sub in enumerate(subs):
            if isinstance(sub, dict) and sub.get("sub_button"):
                raise errors.ApiError(40022, f"{where}.sub_button[{j}]")
            _check_button(sub, SUB, f"{where}.sub_button[{j}]")


async def create(call: calls.Call) -> calls.Outcome:
    check(call.body)
    account = call.account
    account.menu = {"button": copy.deepcopy(call.body["button"])}
    account.menu_id += 1
    return calls.Outcome(calls.ok())


async def get(call: calls.Call) -> calls.Outcome:
    menu = call.account.menu
    if menu is None:
        raise errors.ApiError(46003)
    return calls.Outcome({"menu": {**copy.deepcopy(menu), "menuid": call.account.menu_id}})


async def delete(call: calls.Call) -> calls.Outcome:
    call.account.menu = None
    return calls.Outcome(calls.ok())


def _click_keys(menu: dict[str, Any] | None) -> list[str]:
    keys: list[str] = []
    for button in (menu or {}).get("button", []):
        for leaf in button.get("sub_button") or [button]:
            if leaf.get("type") == "click":
                keys.append(str(leaf["key"]))
    return keys


def click_key(account: state.Account, key: str) -> str:
    """`key` if a click button of the account's current menu has it; a 400 otherwise."""
    if account.menu is None:
        raise _refused("click: the account has no menu (create one with /cgi-bin/menu/create)")
    known = _click_keys(account.menu)
    if key not in known:
        raise _refused(
            f"click: {key!r} is not the key of a click button of the current menu "
            f"(its keys: {', '.join(known) or 'none'})"
        )
    return key


def _refused(text: str) -> web.HTTPException:
    return errors.control(400, "not_a_menu_key", text)
