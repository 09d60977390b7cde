"""The endpoint routes of SPEC 7: create (secret once), list, get, patch, delete, rotate, and
hostile input refused with a 4xx and nothing stored."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import asyncpg
import pytest

from tests.api.apihelp import Client, create_account
from tests.api.conftest import AUTH

EP = "/api/v1/accounts/acme/endpoints"


async def post(client: Client, path: str, body: Any) -> tuple[int, Any]:
    resp = await client.post(path, json=body, headers=AUTH)
    return resp.status, await resp.json()


async def count(pool: asyncpg.Pool, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table}"))


@pytest.fixture
async def pool(db_url: str) -> Any:
    p = await asyncpg.create_pool(db_url, min_size=1, max_size=2)
    yield p
    await p.close()


async def test_create_shows_the_secret_once(client: Client) -> None:
    await create_account(client)
    status, made = await post(
        client, EP, {"url": "https://hooks.example.com/wx", "event_types": ["message.*"]}
    )
    assert status == 201, made
    secret = made["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert made["event_types"] == ["message.*"] and made["disabled"] is False
    got = await (await client.get(f"{EP}/{made['id']}", headers=AUTH)).json()
    listed = await (await client.get(EP, headers=AUTH)).json()
    assert "secret" not in got and got["id"] == made["id"]
    assert [e["id"] for e in listed["items"]] == [made["id"]]
    assert secret not in str(listed) and secret not in str(got)


async def test_patch_rotate_delete(client: Client) -> None:
    await create_account(client)
    _, made = await post(client, EP, {"url": "https://hooks.example.com/wx"})
    path = f"{EP}/{made['id']}"
    resp = await client.patch(
        path,
        json={"disabled": True, "rate_limit": 5, "event_types": ["outbound.failed"]},
        headers=AUTH,
    )
    changed = await resp.json()
    assert resp.status == 200, changed
    assert changed["disabled"] and changed["rate_limit"] == 5
    assert changed["url"] == "https://hooks.example.com/wx"
    resp = await client.patch(path, json={"event_types": None}, headers=AUTH)
    assert (await resp.json())["event_types"] is None
    status, rotated = await post(client, path + "/secret/rotate", None)
    assert status == 200 and rotated["secret"] != made["secret"]
    expires = dt.datetime.fromisoformat(rotated["previous_secret_expires_at"])
    left = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=23, minutes=59) < left <= dt.timedelta(hours=24)
    assert (await client.delete(path, headers=AUTH)).status == 200
    assert (await client.get(path, headers=AUTH)).status == 404
    assert (await client.delete(path, headers=AUTH)).status == 404


async def test_unknown_account_and_endpoint(client: Client) -> None:
    status, _ = await post(client, EP, {"url": "https://hooks.example.com/wx"})
    assert status == 404
    await create_account(client)
    for path in (f"{EP}/ep_{'0' * 24}", f"{EP}/nope", f"{EP}/ep_{'0' * 24}/deliveries"):
        assert (await client.get(path, headers=AUTH)).status == 404


HOSTILE_URLS = [
    "https://user:pass@hooks.example.com/x",
    "https://user@hooks.example.com/x",
    "ftp://hooks.example.com/x",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "gopher://hooks.example.com/",
    "hooks.example.com/x",
    "https:///nohost",
    "https://hooks.example.com/" + "a" * 2100,
    "https://hooks.example.com/a b",
    "http://127.0.0.1:8080/x",
    "http://localhost/x",
    "http://10.1.2.3/x",
    "http://192.168.0.1/x",
    "http://172.16.5.4/x",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://[fe80::1]/x",
    "http://224.0.0.1/x",
    "http://0.0.0.0/x",
    "http://[::]/x",
    "https://hooks.example.com:0/x",
    "https://hooks.example.com:99999/x",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
async def test_hostile_urls_are_refused(client: Client, pool: asyncpg.Pool, url: str) -> None:
    await create_account(client)
    status, answer = await post(client, EP, {"url": url})
    assert status == 422, answer
    assert answer["error"]["code"] == "validation_error"
    assert await count(pool, "webhook_endpoints") == 0
    _, made = await post(client, EP, {"url": "https://hooks.example.com/ok"})
    resp = await client.patch(f"{EP}/{made['id']}", json={"url": url}, headers=AUTH)
    assert resp.status == 422
    got = await (await client.get(f"{EP}/{made['id']}", headers=AUTH)).json()
    assert got["url"] == "https://hooks.example.com/ok"


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://h.example.com", "event_types": ["nope.*"]},
        {"url": "https://h.example.com", "event_types": ["outbound.bogus"]},
        {"url": "https://h.example.com", "event_types": ["Message.Text"]},
        {"url": "https://h.example.com", "event_types": []},
        {"url": "https://h.example.com", "event_types": ["message.*"] * 65},
        {"url": "https://h.example.com", "rate_limit": 0},
        {"url": "https://h.example.com", "rate_limit": "5"},
        {"url": "https://h.example.com", "secret": "whsec_x"},
        {"url": "https://h.example.com", "description": "d" * 300},
        {"url": 5},
        {},
    ],
)
async def test_invalid_bodies(client: Client, pool: asyncpg.Pool, body: dict[str, Any]) -> None:
    await create_account(client)
    status, _ = await post(client, EP, body)
    assert status == 422
    assert await count(pool, "webhook_endpoints") == 0


async def test_private_destinations_allowed_by_the_setting(
    aiohttp_client: Any, settings: Any
) -> None:
    from gateway.api import app as app_mod

    app = app_mod.create_app(settings.model_copy(update={"webhook_allow_private": True}))
    c = await aiohttp_client(app)
    await create_account(c)
    status, made = await post(c, EP, {"url": "http://127.0.0.1:9/hook"})
    assert status == 201, made


@pytest.mark.parametrize(
    "period",
    [
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "1971-01-01T00:00:00Z"},
        {"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"},
        {"since": "now"},
        {"since": "2026-01-01T00:00:00"},
        {"since": "2026-01-01T00:00:00Z", "event_types": ["bad"]},
    ],
)
async def test_replay_periods_refused(
    client: Client, pool: asyncpg.Pool, period: dict[str, Any]
) -> None:
    await create_account(client)
    _, made = await post(client, EP, {"url": "https://hooks.example.com/ok"})
    now = dt.datetime.now(dt.UTC)
    if period.get("since") == "2026-01-02T00:00:00Z":
        period = {
            "since": (now - dt.timedelta(hours=1)).isoformat(),
            "until": (now - dt.timedelta(hours=2)).isoformat(),
        }
    status, answer = await post(client, f"{EP}/{made['id']}/replay", period)
    assert status == 422, answer
    assert await count(pool, "webhook_deliveries") == 0
