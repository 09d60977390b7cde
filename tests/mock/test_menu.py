"""The mock's custom menu (SPEC 5.1): create, get, delete with the platform's own codes, and
a `click` follower action that must name a key of the current menu."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mock.conftest import Platform

CREATE, GET, DELETE = "/cgi-bin/menu/create", "/cgi-bin/menu/get", "/cgi-bin/menu/delete"


def click(name: str = "Help", key: str = "HELP") -> dict[str, Any]:
    return {"type": "click", "name": name, "key": key}


def subs(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"name": "More", "sub_button": list(buttons)}


async def get(platform: Platform, token: str) -> dict[str, Any]:
    resp = await platform.client.get(GET, params={"access_token": token})
    assert resp.status == 200
    return dict(await resp.json())


async def test_create_get_delete(platform: Platform) -> None:
    await platform.register("wxs", "subscription")  # both kinds have menus
    token = await platform.token("wxs")
    assert (await get(platform, token))["errcode"] == 46003
    body = {
        "button": [
            click("今日歌曲", "V1001_TODAY_MUSIC"),
            subs(
                {"type": "view", "name": "搜索", "url": "https://www.soso.com/"},
                {"type": "miniprogram", "name": "mp", "url": "http://mp", "appid": "wx1"}
                | {"pagepath": "pages/index"},
                {"type": "media_id", "name": "图片", "media_id": "MEDIA_ID1"},
            ),
        ]
    }
    assert await platform.call(CREATE, token, body) == {"errcode": 0, "errmsg": "ok"}
    shown = await get(platform, token)
    assert shown["menu"]["button"] == body["button"]
    assert shown["menu"]["menuid"] == 1
    assert await platform.call(DELETE, token) == {"errcode": 0, "errmsg": "ok"}
    assert (await get(platform, token))["errcode"] == 46003
    log = await platform.sent("wxs")
    assert [(e["path"], e["errcode"]) for e in log] == [
        (GET, 46003),
        (CREATE, 0),
        (GET, 0),
        (DELETE, 0),
        (GET, 46003),
    ]


LONG_URL = "https://e.com/" + "u" * 1011  # 1,025 bytes
PAGE = {"pagepath": "pages/index"}
REFUSED: list[tuple[Any, int]] = [
    ({}, 40016),
    ({"button": []}, 40016),
    ({"button": [click()] * 4}, 40016),
    ({"button": [{"name": "x", "type": "teleport"}]}, 40017),
    ({"button": [{"name": "x", "key": "K"}]}, 40017),
    ({"button": [click("x" * 17)]}, 40018),
    ({"button": [click("菜单名字菜单")]}, 40018),  # 18 bytes, 6 characters
    ({"button": [click("")]}, 40018),
    ({"button": [subs(click()) | {"name": "y" * 17}]}, 40018),
    ({"button": [click(key="k" * 129)]}, 40019),
    ({"button": [click(key="")]}, 40019),
    ({"button": [{"type": "view", "name": "v", "url": LONG_URL}]}, 40020),
    ({"button": [{"type": "view", "name": "v"}]}, 40020),
    ({"button": [subs(subs(click()))]}, 40022),
    ({"button": [subs(*[click()] * 6)]}, 40023),
    ({"button": [subs({"name": "s", "type": "nope"})]}, 40024),
    ({"button": [subs(click("y" * 61))]}, 40025),
    ({"button": [subs(click(key="k" * 129))]}, 40026),
    ({"button": [subs({"type": "view", "name": "v", "url": LONG_URL})]}, 40027),
    ({"button": [subs({"type": "miniprogram", "name": "m", "appid": "a"} | PAGE)]}, 40027),
    ({"button": [{"type": "media_id", "name": "m"}]}, 40007),
    ({"button": [{"type": "miniprogram", "name": "m", "url": "http://x", "appid": "a"}]}, 47001),
    ({"button": [1]}, 47001),
]
ACCEPTED: list[Any] = [
    {"button": [click(), click(), click()]},
    {"button": [click("x" * 16), subs(*[click("y" * 60)] * 5)]},
    {"button": [click("子" * 5), subs(click("子" * 20))]},  # 15 and 60 bytes
    {"button": [click(key="k" * 128), {"type": "view", "name": "v", "url": LONG_URL[:-1]}]},
    {"button": [{**click(), "sub_button": []}]},  # as menu/get shows a leaf
]


@pytest.mark.parametrize(("body", "errcode"), REFUSED)
async def test_the_platforms_codes(platform: Platform, body: Any, errcode: int) -> None:
    await platform.register("wxa")
    token = await platform.token("wxa")
    answer = await platform.call(CREATE, token, body)
    assert answer["errcode"] == errcode, answer
    assert (await get(platform, token))["errcode"] == 46003  # nothing stored


@pytest.mark.parametrize("body", ACCEPTED)
async def test_at_the_limits(platform: Platform, body: Any) -> None:
    await platform.register("wxa")
    token = await platform.token("wxa")
    assert (await platform.call(CREATE, token, body))["errcode"] == 0
    assert (await get(platform, token))["menu"]["button"] == body["button"]


async def test_a_bad_token_is_refused(platform: Platform) -> None:
    await platform.register("wxa")
    answer = await platform.call(CREATE, "not-a-token", {"button": [click()]})
    assert answer["errcode"] == 40001


async def test_a_click_names_a_key_of_the_current_menu(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    path = "/_mock/accounts/wxa/followers/o1/actions"
    resp = await platform.client.post(path, json={"action": "click", "key": "HELP"})
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["code"] == "not_a_menu_key" and "has no menu" in error["message"]
    token = await platform.token("wxa")
    menu = {"button": [click(), subs({"type": "view", "name": "v", "url": "https://e.com"})]}
    assert (await platform.call(CREATE, token, menu))["errcode"] == 0
    for key in ("OTHER", "v"):
        resp = await platform.client.post(path, json={"action": "click", "key": key})
        assert resp.status == 400
        assert "HELP" in (await resp.json())["error"]["message"]
    pushes = len(platform.gateway.pushes)
    answer = await platform.act("wxa", "o1", "click", key="HELP")
    assert answer["delivered"] is True
    assert len(platform.gateway.pushes) == pushes + 1
    assert platform.gateway.pushes[-1]["fields"]["EventKey"] == "HELP"
    await platform.call(DELETE, token)
    resp = await platform.client.post(path, json={"action": "click", "key": "HELP"})
    assert resp.status == 400
