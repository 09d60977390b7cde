"""Scoped API tokens (SPEC 11) over HTTP: only hashes stored, accounts outside the token are
404 on every account route (those added later too), scopes are 403, revocation is at once."""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.api import openapi, openapi_render
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH, ClientFactory

ACCOUNT_ROUTES = [(op.method, op.path) for op in openapi.OPERATIONS if "{id}" in op.path]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def concrete(path: str, account: str) -> str:
    """The route with the account and, for every other path parameter, the OpenAPI
    document's example value (so the route matches and only the account can refuse it)."""
    path = path.replace("{id}", account)
    for name, (_, _, example) in openapi_render.PATH.items():
        path = path.replace("{" + name + "}", str(example))
    assert "{" not in path, path
    return path


async def make_token(client: Client, accounts: Any, scopes: list[str], name: str = "t") -> Any:
    body = {"name": name, "accounts": accounts, "scopes": scopes}
    resp = await client.post("/api/v1/tokens", json=body, headers=AUTH)
    assert resp.status == 201, await resp.text()
    return await resp.json()


@pytest.fixture
async def two(client: Client, pool: asyncpg.Pool) -> None:
    for account in ("acme", "other"):
        await apihelp.create_account(client, account)
        await apihelp.add_follower(pool, account, apihelp.openid(1))
        await apihelp.enqueue(client, account, apihelp.text_message())


async def test_the_token_is_shown_once_and_only_its_hash_is_stored(
    client: Client, pool: asyncpg.Pool
) -> None:
    created = await make_token(client, ["acme"], ["read"], name="crm")
    token = created["token"]
    assert token.startswith("wxg_") and len(token) >= 40 and not token.startswith("-")
    assert created["accounts"] == ["acme"] and created["scopes"] == ["read"]
    rows = await pool.fetch("SELECT * FROM api_tokens")
    assert len(rows) == 1
    assert rows[0]["hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(value) for value in dict(rows[0]).values())
    listed = await (await client.get("/api/v1/tokens", headers=AUTH)).json()
    assert [t["id"] for t in listed["items"]] == [created["id"]]
    assert "token" not in listed["items"][0]
    other = await make_token(client, "*", ["manage"], name="ops")
    assert other["token"] != token and other["accounts"] == "*"


@pytest.mark.usefixtures("two")
@pytest.mark.parametrize(("method", "path"), ACCOUNT_ROUTES)
async def test_a_token_sees_nothing_of_another_account(
    client: Client, pool: asyncpg.Pool, method: str, path: str
) -> None:
    token = (await make_token(client, ["acme"], ["read", "send", "manage"]))["token"]
    missing = await client.get("/api/v1/accounts/ghost", headers=AUTH)
    expected = await apihelp.error(missing, 404, "not_found")
    before = await pool.fetchval("SELECT count(*) FROM messages WHERE account_id = 'other'")
    resp = await client.request(method, concrete(path, "other"), json={}, headers=bearer(token))
    err = await apihelp.error(resp, 404, "not_found")
    assert err == {**expected, "message": "no account 'other'"}
    after = await pool.fetchval("SELECT count(*) FROM messages WHERE account_id = 'other'")
    assert after == before
    # The same token reaches the same route of its own account (any answer but that 404).
    own = await client.request(method, concrete(path, "acme"), json={}, headers=bearer(token))
    if own.status == 404:
        assert (await own.json())["error"]["message"] != "no account 'acme'"


@pytest.mark.usefixtures("two")
async def test_the_account_list_shows_only_the_tokens_accounts(client: Client) -> None:
    token = (await make_token(client, ["acme", "later"], ["read"]))["token"]
    page = await (await client.get("/api/v1/accounts", headers=bearer(token))).json()
    assert [a["id"] for a in page["items"]] == ["acme"]
    every = (await make_token(client, "*", ["read"]))["token"]
    page = await (await client.get("/api/v1/accounts", headers=bearer(every))).json()
    assert [a["id"] for a in page["items"]] == ["acme", "other"]


@pytest.mark.usefixtures("two")
async def test_read_cannot_send_and_send_cannot_manage(client: Client) -> None:
    read = bearer((await make_token(client, ["acme"], ["read"]))["token"])
    send = bearer((await make_token(client, ["acme"], ["send"]))["token"])
    url = "/api/v1/accounts/acme/messages"
    assert (await client.get(url, headers=read)).status == 200
    assert (await client.get("/api/v1/accounts/acme", headers=read)).status == 200
    err = await apihelp.error(
        await client.post(url, json=apihelp.text_message(), headers=read), 403, "forbidden"
    )
    assert err["details"] == {"required": "send"}
    await apihelp.error(await client.delete(url + "/1", headers=read), 403, "forbidden")
    qr = {"scene": 1, "permanent": False}
    await apihelp.error(
        await client.post("/api/v1/accounts/acme/qrcodes", json=qr, headers=read), 403, "forbidden"
    )
    assert (await client.post(url, json=apihelp.text_message(), headers=send)).status == 202
    assert (await client.get(url, headers=send)).status == 200  # send includes read
    patch = {"rule_profile": "wechat-2023"}
    err = await apihelp.error(
        await client.patch("/api/v1/accounts/acme", json=patch, headers=send), 403, "forbidden"
    )
    assert err["details"] == {"required": "manage"}


async def test_account_creation_needs_manage_over_every_account(client: Client) -> None:
    listed = bearer((await make_token(client, ["acme"], ["manage"]))["token"])
    every = bearer((await make_token(client, "*", ["manage"]))["token"])
    reader = bearer((await make_token(client, "*", ["read"]))["token"])
    body = apihelp.account_body("acme")
    await apihelp.error(
        await client.post("/api/v1/accounts", json=body, headers=listed), 403, "forbidden"
    )
    await apihelp.error(
        await client.post("/api/v1/accounts", json=body, headers=reader), 403, "forbidden"
    )
    assert (await client.post("/api/v1/accounts", json=body, headers=every)).status == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/tokens"),
        ("get", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/1"),
        ("get", "/api/v1/audit"),
    ],
)
async def test_tokens_and_audit_are_the_administrators(
    client: Client, method: str, path: str
) -> None:
    token = (await make_token(client, "*", ["read", "send", "manage"]))["token"]
    body = {"name": "x", "accounts": "*", "scopes": ["manage"]}
    resp = await client.request(method, path, json=body, headers=bearer(token))
    err = await apihelp.error(resp, 403, "forbidden")
    assert err["details"] == {"required": "admin"}


@pytest.mark.usefixtures("two")
async def test_a_revoked_token_stops_at_once(client: Client, pool: asyncpg.Pool) -> None:
    created = await make_token(client, ["acme"], ["read"])
    headers = bearer(created["token"])
    assert (await client.get("/api/v1/accounts/acme", headers=headers)).status == 200
    assert await pool.fetchval("SELECT last_used_at IS NOT NULL FROM api_tokens")
    resp = await client.delete(f"/api/v1/tokens/{created['id']}", headers=AUTH)
    assert resp.status == 200
    assert (await resp.json())["revoked_at"] is not None
    await apihelp.error(
        await client.get("/api/v1/accounts/acme", headers=headers), 401, "unauthorized"
    )
    again = await client.delete(f"/api/v1/tokens/{created['id']}", headers=AUTH)
    assert again.status == 200  # revoking twice keeps the first time
    assert (await again.json())["revoked_at"] == (await resp.json())["revoked_at"]
    await apihelp.error(await client.delete("/api/v1/tokens/999", headers=AUTH), 404, "not_found")
    await apihelp.error(await client.delete("/api/v1/tokens/x", headers=AUTH), 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "accounts": "*", "scopes": ["read"]},
        {"name": "x", "accounts": [], "scopes": ["read"]},
        {"name": "x", "accounts": "all", "scopes": ["read"]},
        {"name": "x", "accounts": ["Bad Id"], "scopes": ["read"]},
        {"name": "x", "accounts": "*", "scopes": []},
        {"name": "x", "accounts": "*", "scopes": ["admin"]},
        {"name": "a\x00b", "accounts": "*", "scopes": ["read"]},
        {"name": "x" * 101, "accounts": "*", "scopes": ["read"]},
        {"name": "x", "accounts": "*", "scopes": ["read"], "extra": 1},
    ],
)
async def test_invalid_token_requests(client: Client, body: dict[str, Any]) -> None:
    resp = await client.post("/api/v1/tokens", json=body, headers=AUTH)
    await apihelp.error(resp, 422, "validation_error")


async def test_routes_added_later_are_scoped_too(
    settings: settings_mod.Settings, aiohttp_client: ClientFactory, pool: asyncpg.Pool
) -> None:
    """Another module's routes under /api/v1/accounts/{id} need no code to be scoped."""

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"id": 7}, status=202)

    app = app_mod.create_app(settings)
    # Names no real route has, so these handlers answer (the real webhook and tag routes
    # exist now and would shadow them).
    app.router.add_post("/api/v1/accounts/{id}/hooks/{hid}/replay", ok)
    app.router.add_post("/api/v1/accounts/{id}/hooks/{hid}/deliveries/{did}/retry", ok)
    app.router.add_post("/api/v1/accounts/{id}/labels", ok)
    app.router.add_get("/api/v1/accounts/{id}/labels", ok)
    client = await aiohttp_client(app)
    await apihelp.create_account(client, "acme")
    send = bearer((await make_token(client, ["acme"], ["send"]))["token"])
    read = bearer((await make_token(client, ["acme"], ["read"]))["token"])
    replay = "/api/v1/accounts/{}/hooks/1/replay"
    retry = "/api/v1/accounts/{}/hooks/1/deliveries/2/retry"
    assert (await client.post(replay.format("acme"), headers=send)).status == 202
    assert (await client.post(retry.format("acme"), headers=send)).status == 202
    assert (await client.get("/api/v1/accounts/acme/labels", headers=read)).status == 202
    await apihelp.error(await client.post(replay.format("acme"), headers=read), 403, "forbidden")
    await apihelp.error(
        await client.post("/api/v1/accounts/acme/labels", headers=send), 403, "forbidden"
    )
    await apihelp.error(await client.post(replay.format("beta"), headers=send), 404, "not_found")
    await apihelp.error(
        await client.get("/api/v1/accounts/beta/labels", headers=read), 404, "not_found"
    )
    routes = await pool.fetch("SELECT route, actor FROM audit_log WHERE token_id IS NOT NULL")
    assert sorted(r["route"] for r in routes) == [
        "/api/v1/accounts/{id}/hooks/{hid}/deliveries/{did}/retry",
        "/api/v1/accounts/{id}/hooks/{hid}/replay",
    ]
