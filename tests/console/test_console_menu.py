"""The console's read-only menu page (SPEC 8): the buttons as stored, the state, WeChat's
errcode and errmsg, applied_at; hostile names shown as text; the token's accounts only."""

from __future__ import annotations

import asyncpg

from gateway.store import menus
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import API_TOKEN, AUTH
from tests.console import data

PAGE = "/console/accounts/acme/menu"
MENU = {
    "button": [
        {"type": "click", "name": "<b>Today</b>", "key": "TODAY"},
        {
            "name": "More",
            "sub_button": [
                {"type": "view", "name": "Shop", "url": "https://shop.example.com/"},
                {"type": "media_id", "name": "Picture", "media_id": "MEDIA_1"},
            ],
        },
    ]
}


async def test_the_menu_page(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.create_account(client, "acme")
    await data.sign_in(client, API_TOKEN)
    empty = await client.get(PAGE)
    assert empty.status == 200 and 'id="no-menu"' in await empty.text()
    assert (await client.put("/api/v1/accounts/acme/menu", json=MENU, headers=AUTH)).status == 202
    page = await (await client.get(PAGE)).text()
    assert '<span class="tag pending" id="menu-state">pending</span>' in page
    assert page.count('<tr class="button level-0">') == 2
    assert page.count('<tr class="button level-1">') == 2
    assert "&lt;b&gt;Today&lt;/b&gt;" in page and "<b>Today</b>" not in page
    assert "key <code>TODAY</code>" in page and "sub-menu" in page
    assert "url <code>https://shop.example.com/</code>" in page
    assert "media_id <code>MEDIA_1</code>" in page
    assert "next attempt" in page and "WeChat answered" not in page
    await pool.execute(
        "UPDATE menus SET state = 'failed', errcode = 40016, errmsg = 'invalid button size'"
        " WHERE account_id = 'acme'"
    )
    failed = await (await client.get(PAGE)).text()
    assert 'id="menu-state">failed<' in failed
    assert "WeChat answered <code>40016</code> invalid button size" in failed
    assert "next attempt" not in failed
    await pool.execute(
        "UPDATE menus SET state = 'applied', errcode = NULL, errmsg = NULL,"
        " applied_at = '2026-12-03 10:00:00+00' WHERE account_id = 'acme'"
    )
    applied = await (await client.get(PAGE)).text()
    assert 'id="menu-state">applied<' in applied and "Applied 2026-12-03 10:00:00 UTC" in applied
    await menus.delete(pool, "acme")
    deleting = await (await client.get(PAGE)).text()
    assert 'id="menu-state">deleting<' in deleting and "Being removed from WeChat." in deleting


async def test_only_the_tokens_accounts(client: Client) -> None:
    await apihelp.create_account(client, "acme")
    await apihelp.create_account(client, "other")
    reader = await data.token(client, ["other"], ["read"])
    await data.sign_in(client, reader["token"])
    assert (await client.get(PAGE)).status == 404
    assert (await client.get("/console/accounts/other/menu")).status == 200
