"""Follower syncs and tags through /api/v1 (SPEC 9), with the mock platform behind them."""

from __future__ import annotations

from typing import Any

import asyncpg
import pydantic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.mock import app as mock_app
from tests.api import apihelp
from tests.api.conftest import API_TOKEN, AUTH, ClientFactory

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def stack(db_url: str, aiohttp_client: ClientFactory) -> tuple[Client, Client]:
    mock = await aiohttp_client(mock_app.create_mock_app())
    settings = settings_mod.Settings(
        database_url=db_url,
        api_token=pydantic.SecretStr(API_TOKEN),
        public_url="http://gateway.test",
        wechat_api_base=str(mock.make_url("")).rstrip("/"),
    )
    return await aiohttp_client(app_mod.create_app(settings)), mock


async def _account(gateway: Client, mock: Client, account_id: str = "acme") -> str:
    body = apihelp.account_body(account_id)
    resp = await gateway.post("/api/v1/accounts", json=body, headers=AUTH)
    assert resp.status == 201
    register = {k: body[k] for k in ("app_id", "app_secret", "kind", "token")}
    register["callback_url"] = "http://127.0.0.1:9/wechat/" + account_id
    assert (await mock.post("/_mock/accounts", json=register)).status == 201
    return str(body["app_id"])


async def test_start_and_watch_a_sync(stack: tuple[Client, Client], pool: asyncpg.Pool) -> None:
    gateway, mock = stack
    await _account(gateway, mock)
    resp = await gateway.post("/api/v1/accounts/acme/followers/sync", headers=AUTH)
    assert resp.status == 202
    started = await resp.json()
    assert started["status"] == "running" and set(started) == {"id", "status"}
    again = await gateway.post("/api/v1/accounts/acme/followers/sync", headers=AUTH)
    await apihelp.error(again, 409, "sync_running")
    resp = await gateway.get(f"/api/v1/accounts/acme/followers/sync/{started['id']}", headers=AUTH)
    shown = await resp.json()
    assert (shown["status"], shown["pages"], shown["followers_seen"]) == ("running", 0, 0)
    assert shown["finished_at"] is None
    missing = await gateway.get("/api/v1/accounts/acme/followers/sync/999", headers=AUTH)
    await apihelp.error(missing, 404, "not_found")
    nobody = await gateway.post("/api/v1/accounts/nobody/followers/sync", headers=AUTH)
    await apihelp.error(nobody, 404, "not_found")
    account = await (await gateway.get("/api/v1/accounts/acme", headers=AUTH)).json()
    assert account["followers_synced_at"] is None


async def test_tags_through_wechat(stack: tuple[Client, Client], pool: asyncpg.Pool) -> None:
    gateway, mock = stack
    app_id = await _account(gateway, mock)
    seeded = await mock.post(f"/_mock/accounts/{app_id}/followers/seed", json={"count": 120})
    prefix = (await seeded.json())["prefix"]
    openids = [prefix + str(i).zfill(28 - len(prefix)) for i in range(120)]
    resp = await gateway.post("/api/v1/accounts/acme/tags", json={"name": "vip"}, headers=AUTH)
    assert resp.status == 201, await resp.text()
    tag = await resp.json()
    assert tag["name"] == "vip" and tag["count"] == 0 and tag["id"] >= 100
    dup = await gateway.post("/api/v1/accounts/acme/tags", json={"name": "vip"}, headers=AUTH)
    await apihelp.error(dup, 409, "conflict")
    long = await gateway.post("/api/v1/accounts/acme/tags", json={"name": "x" * 31}, headers=AUTH)
    await apihelp.error(long, 422, "validation_error")
    reserved = await gateway.post(
        "/api/v1/accounts/acme/tags", json={"name": "wxgate-12"}, headers=AUTH
    )
    await apihelp.error(reserved, 422, "validation_error")

    members = f"/api/v1/accounts/acme/tags/{tag['id']}/members"
    resp = await gateway.post(members, json={"openids": openids}, headers=AUTH)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"tag_id": tag["id"], "openids": 120, "calls": 3}
    sent = (await (await mock.get(f"/_mock/accounts/{app_id}/sent")).json())["sent"]
    batches = [r for r in sent if r["path"] == "/cgi-bin/tags/members/batchtagging"]
    assert [len(r["body"]["openid_list"]) for r in batches] == [50, 50, 20]
    listed = await (await gateway.get("/api/v1/accounts/acme/tags", headers=AUTH)).json()
    assert listed == {"items": [{"id": tag["id"], "name": "vip", "count": 120}]}
    held = await pool.fetchval("SELECT count(*) FROM followers WHERE $1 = ANY(tags)", tag["id"])
    assert held == 120
    follower = await gateway.get(f"/api/v1/accounts/acme/followers/{openids[0]}", headers=AUTH)
    assert (await follower.json())["tags"] == [tag["id"]]

    resp = await gateway.delete(members, json={"openids": openids[:60]}, headers=AUTH)
    assert (await resp.json())["calls"] == 2
    mock_tags = await mock.get(f"/_mock/accounts/{app_id}/followers/{openids[0]}")
    assert (await mock_tags.json())["tags"] == []
    listed = await (await gateway.get("/api/v1/accounts/acme/tags", headers=AUTH)).json()
    assert listed["items"][0]["count"] == 60

    resp = await gateway.delete(f"/api/v1/accounts/acme/tags/{tag['id']}", headers=AUTH)
    assert resp.status == 200
    assert await pool.fetchval("SELECT count(*) FROM followers WHERE cardinality(tags) > 0") == 0
    gone = await gateway.delete(f"/api/v1/accounts/acme/tags/{tag['id']}", headers=AUTH)
    await apihelp.error(gone, 404, "not_found")


async def test_tag_limits_are_refused_before_any_call(
    stack: tuple[Client, Client], pool: asyncpg.Pool
) -> None:
    gateway, mock = stack
    app_id = await _account(gateway, mock)
    await pool.execute(
        "INSERT INTO tags (account_id, tag_id, name) SELECT 'acme', 200 + n, 't' || n"
        " FROM generate_series(0, 99) AS n"
    )
    full = await gateway.post("/api/v1/accounts/acme/tags", json={"name": "one more"}, headers=AUTH)
    await apihelp.error(full, 409, "tag_limit_reached")
    await apihelp.add_follower(pool, "acme", "oheld", tags=list(range(200, 220)))
    resp = await gateway.post(
        "/api/v1/accounts/acme/tags/220/members", json={"openids": ["oheld"]}, headers=AUTH
    )
    error: dict[str, Any] = await apihelp.error(resp, 409, "too_many_tags")
    assert error["details"] == {"openids": ["oheld"]}
    sent = (await (await mock.get(f"/_mock/accounts/{app_id}/sent")).json())["sent"]
    assert sent == []
