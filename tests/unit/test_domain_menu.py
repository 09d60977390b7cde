"""The menu format (gateway.domain.menu): every limit at and one beyond, every type's fields,
and the offending path in each problem."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.domain import menu


def click(name: str = "Help", key: str = "HELP") -> dict[str, Any]:
    return {"type": "click", "name": name, "key": key}


def parent(n: int, name: str = "More") -> dict[str, Any]:
    return {"name": name, "sub_button": [click(f"s{i}", f"K{i}") for i in range(n)]}


LEAVES: list[dict[str, Any]] = [
    click(),
    {"type": "view", "name": "Site", "url": "https://example.com/"},
    *(
        {"type": kind, "name": "k", "key": "K"}
        for kind in (
            "scancode_push",
            "scancode_waitmsg",
            "pic_sysphoto",
            "pic_photo_or_album",
            "pic_weixin",
            "location_select",
        )
    ),
    {"type": "media_id", "name": "m", "media_id": "MEDIA"},
    {"type": "article_id", "name": "a", "article_id": "ART"},
    {"type": "article_view_limited", "name": "a", "article_id": "ART"},
    {
        "type": "miniprogram",
        "name": "mp",
        "appid": "wx286b93c14bbf93aa",
        "pagepath": "pages/lunar/index",
        "url": "http://mp.weixin.qq.com",
    },
]


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda b: str(b["type"]))
def test_every_type_with_its_fields_is_valid(leaf: dict[str, Any]) -> None:
    assert menu.problems({"button": [leaf]}) == ()
    assert menu.problems({"button": [{"name": "p", "sub_button": [leaf]}]}) == ()


VALID: list[Any] = [
    {"button": [click()]},
    {"button": [click(), click(), click()]},
    {"button": [parent(5), parent(1), {**click(), "sub_button": []}]},
    {"button": [click("x" * 16)]},  # 16 bytes
    {"button": [click("菜单名字")]},  # 12 bytes
    {"button": [click("菜单名字ab")]},  # 14 bytes
    {"button": [parent(1, "x" * 16)]},
    {"button": [{"name": "p", "sub_button": [click("y" * 60)]}]},
    {"button": [{"name": "p", "sub_button": [click("子" * 20)]}]},  # 60 bytes
    {"button": [click(key="k" * 128)]},
    {"button": [{"type": "view", "name": "v", "url": "https://e.com/" + "u" * 1010}]},
]


@pytest.mark.parametrize("body", VALID)
def test_at_the_limits_is_valid(body: Any) -> None:
    assert menu.problems(body) == ()


LONG_URL = "https://e.com/" + "u" * 1011  # 1,025 bytes
LONG_KEY = click(key="k" * 129)
INVALID: list[tuple[Any, str, str]] = [
    ([], "", "object"),
    ({}, "button", "1 to 3"),
    ({"button": "x"}, "button", "1 to 3"),
    ({"button": []}, "button", "not 0"),
    ({"button": [click()] * 4}, "button", "not 4"),
    ({"button": [click()], "matchrule": {}}, "matchrule", "unknown"),
    ({"button": [1]}, "button[0]", "object"),
    ({"button": [click("x" * 17)]}, "button[0].name", "not 17"),
    ({"button": [click("菜单名字菜单")]}, "button[0].name", "not 18"),  # 6 x 3 bytes
    ({"button": [click("")]}, "button[0].name", "non-empty"),
    ({"button": [{"type": "click", "key": "K"}]}, "button[0].name", "non-empty"),
    ({"button": [{"name": "n", "key": "K"}]}, "button[0].type", "one of"),
    ({"button": [{"name": "n", "type": "CLICK", "key": "K"}]}, "button[0].type", "one of"),
    ({"button": [{"name": "n", "type": "view_limited", "media_id": "M"}]}, "button[0].type", ""),
    ({"button": [click(key="")]}, "button[0].key", "non-empty"),
    ({"button": [{"name": "n", "type": "click"}]}, "button[0].key", "non-empty"),
    ({"button": [click(key="k" * 129)]}, "button[0].key", "not 129"),
    ({"button": [click(key="键" * 43)]}, "button[0].key", "not 129"),
    ({"button": [{"type": "view", "name": "v"}]}, "button[0].url", "non-empty"),
    ({"button": [{"type": "view", "name": "v", "url": LONG_URL}]}, "button[0].url", "1025"),
    ({"button": [{"type": "view", "name": "v", "url": "ftp://x"}]}, "button[0].url", "http"),
    ({"button": [{"type": "view", "name": "v", "url": 7}]}, "button[0].url", "string"),
    ({"button": [{**click(), "url": "https://e.com"}]}, "button[0].url", "not a field"),
    ({"button": [{"type": "media_id", "name": "m"}]}, "button[0].media_id", "non-empty"),
    ({"button": [{"type": "article_id", "name": "a"}]}, "button[0].article_id", "non-empty"),
    (
        {"button": [{"type": "article_view_limited", "name": "a", "media_id": "M"}]},
        "button[0].media_id",
        "not a field",
    ),
    (
        {"button": [{"type": "miniprogram", "name": "m", "appid": "a", "url": "https://e"}]},
        "button[0].pagepath",
        "non-empty",
    ),
    (
        {"button": [{"type": "miniprogram", "name": "m", "appid": "a", "pagepath": "p"}]},
        "button[0].url",
        "non-empty",
    ),
    ({"button": [parent(6)]}, "button[0].sub_button", "not 6"),
    ({"button": [{"name": "p", "sub_button": "x"}]}, "button[0].sub_button", "list"),
    ({"button": [{**parent(2), "type": "click"}]}, "button[0].type", "only a name"),
    ({"button": [{**parent(2), "key": "K"}]}, "button[0].key", "only a name"),
    ({"button": [parent(2, "x" * 17)]}, "button[0].name", "not 17"),
    ({"button": [{"sub_button": [click()]}]}, "button[0].name", "non-empty"),
    (
        {"button": [click(), {"name": "p", "sub_button": [click(), click("y" * 61)]}]},
        "button[1].sub_button[1].name",
        "not 61",
    ),
    (
        {"button": [click(), parent(1), {"name": "p", "sub_button": [*[click()] * 2, LONG_KEY]}]},
        "button[2].sub_button[2].key",
        "not 129",
    ),
    ({"button": [{"name": "p", "sub_button": [1]}]}, "button[0].sub_button[0]", "object"),
    (
        {"button": [{"name": "p", "sub_button": [{**click(), "sub_button": 0}]}]},
        "button[0].sub_button[0].sub_button",
        "no sub_button",
    ),
    (
        {"button": [{"name": "p", "sub_button": [parent(1)]}]},
        "button[0].sub_button[0].sub_button",
        "no sub_button",
    ),
    (
        {"button": [{"name": "p", "sub_button": [{"name": "s", "type": "nope"}]}]},
        "button[0].sub_button[0].type",
        "one of",
    ),
]


@pytest.mark.parametrize(("body", "path", "text"), INVALID)
def test_beyond_the_limits_names_the_path(body: Any, path: str, text: str) -> None:
    found = menu.problems(body)
    assert found, body
    assert found[0].path == path
    assert text in found[0].message


def test_every_problem_is_listed_in_order() -> None:
    body = {"button": [click("x" * 17), {"name": "p", "sub_button": [click(key="")]}]}
    paths = [p.path for p in menu.problems(body)]
    assert paths == ["button[0].name", "button[1].sub_button[0].key"]


def test_loc_is_pydantic_shaped() -> None:
    (found,) = menu.problems({"button": [{"name": "p", "sub_button": [click(key="")]}]})
    assert found.loc == ("button", 0, "sub_button", 0, "key")
