"""The audit log (SPEC 11): every change through the API is written in the same request with
who, when, what and from which address; reads and refused requests are not; keyset pages."""

from __future__ import annotations

import datetime as dt

import pytest
from aiohttp import web

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH, ClientFactory


async def audit(client: Client, query: str = "") -> list[dict[str, object]]:
    resp = await client.get("/api/v1/audit" + query, headers=AUTH)
    assert resp.status == 200, await resp.text()
    items: list[dict[str, object]] = (await resp.json())["items"]
    return items


async def test_every_change_is_audited_and_reads_are_not(client: Client) -> None:
    start = dt.datetime.now(dt.UTC)
    await apihelp.create_account(client, "acme")
    msg = await apihelp.enqueue(client, "acme", apihelp.text_message())
    url = f"/api/v1/accounts/acme/messages/{msg['id']}"
    assert (await client.delete(url, headers=AUTH)).status == 200
    assert (await client.get(url, headers=AUTH)).status == 200
    assert (await client.delete(url, headers=AUTH)).status == 409  # refused: not audited
    body = {"name": "crm", "accounts": ["acme"], "scopes": ["send"]}
    token = await (await client.post("/api/v1/tokens", json=body, headers=AUTH)).json()
    crm = {"Authorization": f"Bearer {token['token']}"}
    await apihelp.enqueue(client, "acme", apihelp.text_message(), headers=crm)
    entries = await audit(client)
    assert [(e["actor"], e["method"], e["route"], e["status"]) for e in entries] == [
        ("crm", "POST", "/api/v1/accounts/{id}/messages", 202),
        ("admin", "POST", "/api/v1/tokens", 201),
        ("admin", "DELETE", "/api/v1/accounts/{id}/messages/{message_id}", 200),
        ("admin", "POST", "/api/v1/accounts/{id}/messages", 202),
        ("admin", "POST", "/api/v1/accounts", 201),
    ]
    first = entries[-1]
    assert first["via"] == "api" and first["token_id"] is None
    assert first["remote_addr"] == "127.0.0.1"
    assert first["path"] == "/api/v1/accounts"
    assert dt.datetime.fromisoformat(str(first["at"])) >= start
    assert entries[2]["account_id"] == "acme" and entries[2]["summary"] == f"id {msg['id']}"
    assert entries[0]["token_id"] == token["id"]
    # The new token's text is never in the log.
    assert all(token["token"] not in str(e) for e in entries)


async def test_filters_and_keyset_pages(client: Client) -> None:
    for account in ("acme", "beta", "gamma"):
        await apihelp.create_account(client, account)
    await apihelp.enqueue(client, "beta", apihelp.text_message())
    beta = await audit(client, "?account_id=beta")
    assert [(e["method"], e["route"]) for e in beta] == [("POST", "/api/v1/accounts/{id}/messages")]
    posts = await audit(client, "?method=POST&actor=admin")
    assert len(posts) == 4
    resp = await client.get("/api/v1/audit?limit=2", headers=AUTH)
    page = await resp.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await audit(client, f"?limit=2&cursor={page['next_cursor']}")
    ids = [e["id"] for e in page["items"] + rest]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert await audit(client, f"?since={future.replace('+', '%2B')}") == []


@pytest.mark.parametrize(
    "query",
    [
        "?method=GET",
        "?since=yesterday",
        "?account_id=Bad!",
        "?token_id=0",
        "?cursor=zz",
        "?actor=%00",
        "?limit=0",
        "?nope=1",
    ],
)
async def test_hostile_filters_are_422(client: Client, query: str) -> None:
    await apihelp.error(
        await client.get("/api/v1/audit" + query, headers=AUTH), 422, "validation_error"
    )


async def test_forwarded_for_is_used_only_when_the_proxy_is_trusted(
    settings: settings_mod.Settings, aiohttp_client: ClientFactory
) -> None:
    spoofed = {**AUTH, "X-Forwarded-For": "203.0.113.9, 10.0.0.1"}
    plain = await aiohttp_client(app_mod.create_app(settings))
    body = apihelp.account_body("acme")
    assert (await plain.post("/api/v1/accounts", json=body, headers=spoofed)).status == 201
    assert (await audit(plain))[0]["remote_addr"] == "127.0.0.1"
    trusting = settings.model_copy(update={"trust_proxy": True})
    behind: Client = await aiohttp_client(app_mod.create_app(trusting))
    body = apihelp.account_body("beta")
    assert (await behind.post("/api/v1/accounts", json=body, headers=spoofed)).status == 201
    assert (await audit(behind))[0]["remote_addr"] == "203.0.113.9"


async def test_a_change_that_failed_in_the_handler_is_not_audited(
    settings: settings_mod.Settings, aiohttp_client: ClientFactory
) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise web.HTTPBadRequest()

    app = app_mod.create_app(settings)
    app.router.add_post("/api/v1/accounts/{id}/broken", broken)
    client = await aiohttp_client(app)
    assert (await client.post("/api/v1/accounts/acme/broken", headers=AUTH)).status == 400
    assert await audit(client) == []
