"""The custom menu through /api/v1 (SPEC 8): PUT checks locally (422 with the path) and
stores it pending, GET shows the state, DELETE asks for the removal; scopes and audit."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.api import apihelp
from tests.api.conftest import AUTH

Client = TestClient[web.Request, web.Application]
URL = "/api/v1/accounts/acme/menu"
MENU: dict[str, Any] = {
    "button": [
        {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
        {
            "name": "菜单",
            "sub_button": [
                {"type": "view", "name": "搜索", "url": "https://www.soso.com/"},
                {"type": "click", "name": "赞一下我们", "key": "V1001_GOOD"},
            ],
        },
    ]
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_put_stores_a_pending_menu_and_get_shows_it(client: Client) -> None:
    await apihelp.create_account(client, "acme")
    assert (await client.get(URL, headers=AUTH)).status == 404
    resp = await client.put(URL, json=MENU, headers=AUTH)
    assert resp.status == 202, await resp.text()
    assert await resp.json() == {"account_id": "acme", "state": "pending", "version": 1}
    shown = await (await client.get(URL, headers=AUTH)).json()
    assert shown["button"] == MENU["button"]
    assert (shown["state"], shown["errcode"], shown["errmsg"]) == ("pending", None, None)
    assert (shown["attempts"], shown["applied_at"], shown["version"]) == (0, None, 1)
    assert shown["next_attempt_at"] is not None
    again = await (await client.put(URL, json={"button": MENU["button"][:1]}, headers=AUTH)).json()
    assert again["version"] == 2
    assert (await (await client.get(URL, headers=AUTH)).json())["button"] == MENU["button"][:1]


async def test_delete_asks_for_the_removal(client: Client) -> None:
    await apihelp.create_account(client, "acme")
    resp = await client.delete(URL, headers=AUTH)  # none stored: WeChat's may still exist
    assert resp.status == 202
    assert (await resp.json())["state"] == "deleting"
    assert (await client.put(URL, json=MENU, headers=AUTH)).status == 202
    resp = await client.delete(URL, headers=AUTH)
    assert await resp.json() == {"account_id": "acme", "state": "deleting", "version": 3}
    shown = await (await client.get(URL, headers=AUTH)).json()
    assert (shown["state"], shown["button"]) == ("deleting", None)


@pytest.mark.parametrize(
    ("body", "path", "loc"),
    [
        ({"button": []}, "button", ["button"]),
        ({"button": [MENU["button"][0]] * 4}, "button", ["button"]),
        ({"button": [{"type": "click", "name": "x" * 17, "key": "K"}]}, "button[0].name", None),
        (
            {"button": [MENU["button"][0], {"name": "m", "sub_button": [{"name": "s"}] * 6}]},
            "button[1].sub_button",
            ["button", 1, "sub_button"],
        ),
        (
            {
                "button": [
                    MENU["button"][0],
                    MENU["button"][1],
                    {
                        "name": "m",
                        "sub_button": [
                            {"type": "click", "name": "a", "key": "A"},
                            {"type": "click", "name": "b", "key": "B"},
                            {"type": "click", "name": "c", "key": "k" * 129},
                        ],
                    },
                ]
            },
            "button[2].sub_button[2].key",
            ["button", 2, "sub_button", 2, "key"],
        ),
        ({"button": [{"type": "view", "name": "v", "url": "x" * 1025}]}, "button[0].url", None),
        ({"button": [{"type": "teleport", "name": "v"}]}, "button[0].type", None),
        ({"button": [{"type": "view", "name": "v"}]}, "button[0].url", None),
        ({"menu": MENU}, "menu", ["menu"]),
        ([], "body", []),
    ],
)
async def test_put_refuses_what_wechat_would_with_the_path(
    client: Client, body: Any, path: str, loc: list[Any] | None
) -> None:
    await apihelp.create_account(client, "acme")
    err = await apihelp.error(
        await client.put(URL, json=body, headers=AUTH), 422, "validation_error"
    )
    assert err["message"].startswith(path + ": ")
    if loc is not None:
        assert err["details"][0]["loc"] == loc
    assert (await client.get(URL, headers=AUTH)).status == 404  # nothing stored


async def test_bad_json_and_unknown_accounts(client: Client) -> None:
    await apihelp.create_account(client, "acme")
    resp = await client.put(URL, data=b"{", headers={**AUTH, "Content-Type": "application/json"})
    await apihelp.error(resp, 400, "bad_request")
    nobody = "/api/v1/accounts/nobody/menu"
    await apihelp.error(await client.put(nobody, json=MENU, headers=AUTH), 404, "not_found")
    await apihelp.error(await client.get(nobody, headers=AUTH), 404, "not_found")
    await apihelp.error(await client.delete(nobody, headers=AUTH), 404, "not_found")
    nul = {"button": [{"type": "click", "name": "a\x00", "key": "K"}]}
    await apihelp.error(await client.put(URL, json=nul, headers=AUTH), 422, "validation_error")
    assert (await client.put(URL, json=MENU)).status == 401


async def test_scopes_read_gets_manage_changes(client: Client) -> None:
    await apihelp.create_account(client, "acme")
    await apihelp.create_account(client, "other")
    tokens = {}
    for scope in ("read", "send", "manage"):
        body = {"name": scope, "accounts": ["acme"], "scopes": [scope]}
        created = await (await client.post("/api/v1/tokens", json=body, headers=AUTH)).json()
        tokens[scope] = bearer(created["token"])
    for scope in ("read", "send"):
        err = await apihelp.error(
            await client.put(URL, json=MENU, headers=tokens[scope]), 403, "forbidden"
        )
        assert err["details"] == {"required": "manage"}
        await apihelp.error(await client.delete(URL, headers=tokens[scope]), 403, "forbidden")
    assert (await client.put(URL, json=MENU, headers=tokens["manage"])).status == 202
    assert (await client.get(URL, headers=tokens["read"])).status == 200
    other = "/api/v1/accounts/other/menu"
    await apihelp.error(await client.get(other, headers=tokens["manage"]), 404, "not_found")
    await apihelp.error(
        await client.put(other, json=MENU, headers=tokens["manage"]), 404, "not_found"
    )
    assert (await client.delete(URL, headers=tokens["manage"])).status == 202


async def test_changes_are_audited(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.create_account(client, "acme")
    assert (await client.put(URL, json=MENU, headers=AUTH)).status == 202
    await client.put(URL, json={"button": []}, headers=AUTH)  # refused: not audited
    assert (await client.get(URL, headers=AUTH)).status == 200  # a read: not audited
    assert (await client.delete(URL, headers=AUTH)).status == 202
    entries = await (await client.get("/api/v1/audit?account_id=acme", headers=AUTH)).json()
    seen = [(e["method"], e["route"], e["status"]) for e in entries["items"]]
    assert seen == [
        ("DELETE", "/api/v1/accounts/{id}/menu", 202),
        ("PUT", "/api/v1/accounts/{id}/menu", 202),
    ]
    assert await pool.fetchval("SELECT count(*) FROM menus WHERE account_id = 'acme'") == 1
