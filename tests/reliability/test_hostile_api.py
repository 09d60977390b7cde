"""Hostile input to the internal API, beyond tests/api (which covers auth on every route,
validation of each model, one metacharacter field per table and the openid-list limit): SQL
metacharacters in every string field, path segment, query parameter and header; absurd
dates; broken JSON on every body route; arrays far over their limits. Each answer is a clear
4xx in the error shape (or a 2xx that stored the text verbatim), never a 5xx, and quickly."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import asyncpg
import pydantic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.mock import app as mock_app
from tests.api import apihelp

Client = TestClient[web.Request, web.Application]
TOKEN = "hostile-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EVIL = [
    "'; DROP TABLE messages; --",
    '" OR 1=1 --',
    "$1 $$ $body$ \\x00 %s %(x)s {0} ${jndi:ldap://x}",
    "acme' UNION SELECT app_secret FROM accounts --",
    ");COMMIT;TRUNCATE/**/accounts;--",
    "\u202e\ufeff<script>alert(1)</script>",
]
# The same, but within the printable-ASCII-without-spaces alphabet of secrets and tokens.
EVIL_SECRETS = ["';DROP/**/TABLE/**/accounts;--", "x'OR'1'='1", "$1$$\\x00%s"]


@pytest.fixture
async def client(
    db_url: str,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> Client:
    platform = await aiohttp_server(mock_app.create_mock_app())
    settings = settings_mod.Settings(
        database_url=db_url,
        api_token=pydantic.SecretStr(TOKEN),
        wechat_api_base=str(platform.make_url("")).rstrip("/"),
    )
    api = await aiohttp_client(app_mod.create_app(settings))
    body = apihelp.account_body("acme", app_id="wxacme0000000001")
    resp = await api.post("/api/v1/accounts", json=body, headers=AUTH)
    assert resp.status == 201
    await platform_register(api, platform, body)
    return api


async def platform_register(api: Client, platform: TestServer, account: dict[str, Any]) -> None:
    fields = {k: account[k] for k in ("app_id", "app_secret", "token")}
    answer = await api.session.post(
        str(platform.make_url("/_mock/accounts")),
        json={**fields, "kind": "service", "callback_url": "http://127.0.0.1:9/wechat/acme"},
    )
    assert answer.status == 201


async def _call(
    client: Client,
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    started = time.monotonic()
    if raw is None and body is not None:
        raw = json.dumps(body).encode()
    resp = await client.request(
        method,
        path,
        data=None if raw is None else io.BytesIO(raw),
        headers={**AUTH, "Content-Type": "application/json", **(headers or {})},
    )
    text = await resp.text()
    assert time.monotonic() - started < 5.0, (method, path)
    assert resp.status < 500, (method, path, str(body)[:200], resp.status, text[:500])
    payload: Any = None
    if resp.content_type == "application/json":
        payload = json.loads(text)
    if resp.status >= 400:
        assert payload is not None and set(payload) == {"error"}, (path, text[:300])
        assert set(payload["error"]) == {"code", "message", "details"}
    return resp.status, payload


async def _intact(pool: asyncpg.Pool) -> None:
    for table in ("accounts", "messages", "deliveries", "followers", "inbound_events"):
        await pool.fetchval(f"SELECT count(*) FROM {table}")  # table names are constants here
    assert await pool.fetchval("SELECT count(*) FROM accounts WHERE id = 'acme'") == 1


def _message_bodies(evil: str) -> list[dict[str, Any]]:
    to = apihelp.openid(1)
    text = {"msgtype": "text", "text": {"content": evil}}
    template = {
        "template_id": evil,
        "data": {evil[:64]: {"value": evil, "color": evil[:16]}},
        "url": evil,
        "miniprogram": {"appid": evil, "pagepath": evil},
    }
    return [
        {"type": "customer_service", "to": evil, "content": text},
        {"type": "customer_service", "to": to, "content": text, "idempotency_key": evil},
        {"type": "customer_service", "to": to, "content": {"msgtype": evil, evil: {}}},
        {
            "type": "customer_service",
            "to": to,
            "content": {"msgtype": "image", "image": {"media_id": evil}},
        },
        {"type": "customer_service", "to": to, "content": text, "outside_window": evil},
        {"type": "template", "to": to, "template": template},
        {
            "type": "template",
            "to": to,
            "template": {**template, "url": "https://x.test/" + quote(evil)},
        },
        {"type": "mass", "audience": {"openids": [to, evil]}, "content": text},
        {"type": "mass", "audience": {"tag_id": evil}, "content": text},
        {"type": evil, "to": to, "content": text},
        {"type": "customer_service", "to": to, "content": text, "not_before": evil},
    ]


async def test_sql_metacharacters_in_every_field(client: Client, pool: asyncpg.Pool) -> None:
    stored: list[tuple[int, str]] = []
    for n, evil in enumerate(EVIL):
        for body in _message_bodies(evil):
            status, answer = await _call(
                client, "POST", "/api/v1/accounts/acme/messages", body=body
            )
            if status in (200, 202):
                stored.append((answer["id"], json.dumps(body, sort_keys=True)))
        headers = {"Idempotency-Key": evil.encode("ascii", "ignore").decode()}
        await _call(
            client,
            "POST",
            "/api/v1/accounts/acme/messages",
            body=apihelp.text_message(content=evil),
            headers=headers,
        )
        account = apihelp.account_body(
            f"evil{n}", original_id=evil, oauth_redirect_hosts=[evil], rule_profile=evil
        )
        for field in (
            "id",
            "app_id",
            "kind",
            "original_id",
            "oauth_redirect_hosts",
            "rule_profile",
        ):
            one = dict(apihelp.account_body(f"evil{n}"))
            one[field] = account[field]
            await _call(client, "POST", "/api/v1/accounts", body=one)
            await _call(client, "PATCH", "/api/v1/accounts/acme", body={field: account[field]})
        await _call(client, "POST", "/api/v1/accounts/acme/qrcodes", body={"scene": evil})
        await _call(
            client, "POST", "/api/v1/accounts/acme/qrcodes", body={"scene": evil, "permanent": True}
        )
        segment = quote(evil, safe="")
        for path in (
            f"/api/v1/accounts/{segment}",
            f"/api/v1/accounts/{segment}/messages",
            f"/api/v1/accounts/acme/messages/{segment}",
            f"/api/v1/accounts/acme/followers/{segment}",
            f"/api/v1/accounts/acme/messages?status={segment}",
            f"/api/v1/accounts/acme/messages?cursor={segment}",
            f"/api/v1/accounts/acme/messages?limit={segment}",
            f"/api/v1/accounts/acme/followers?window={segment}",
            f"/api/v1/accounts/acme/followers?cursor={segment}",
            f"/api/v1/accounts?cursor={segment}",
            f"/api/v1/accounts/acme/messages?{segment}=1",
        ):
            await _call(client, "GET", path)
        await _call(client, "DELETE", f"/api/v1/accounts/acme/messages/{segment}")
    for n, secret in enumerate(EVIL_SECRETS):
        body = apihelp.account_body(f"secret{n}", app_secret=secret, token=secret)
        status, _ = await _call(client, "POST", "/api/v1/accounts", body=body)
        assert status == 201
        got = await pool.fetchrow(
            "SELECT app_secret, token FROM accounts WHERE id = $1", body["id"]
        )
        assert got is not None and (got["app_secret"], got["token"]) == (secret, secret)
        assert (
            await _call(client, "PATCH", f"/api/v1/accounts/{body['id']}", body={"token": secret})
        )[0] == 200
    await _intact(pool)
    # What was accepted was stored as sent, byte for byte.
    assert stored
    for message_id, _ in stored:
        status, _message = await _call(
            client, "GET", f"/api/v1/accounts/acme/messages/{message_id}"
        )
        assert status == 200
    evil_texts = {
        r["content"]["text"]["content"]
        for r in await pool.fetch("SELECT content FROM messages WHERE content->>'msgtype' = 'text'")
    }
    assert set(EVIL) <= evil_texts


ABSURD = [
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "9999-12-31T23:59:59Z",
    "+275760-09-13T00:00:00Z",
    "2030-02-30T00:00:00Z",
    "2030-13-01T00:00:00Z",
    "2030-01-01T24:00:01Z",
    "2030-01-01T23:59:60Z",
    "2030-01-01T00:00:00+25:00",
    "2030-01-01T00:00:00",
    "2030-01-01",
    "tomorrow",
    "",
    "NaN",
    "1e308",
    1e308,
    -1,
    253402300800,
    True,
    None,
    [],
    {"$date": 0},
]


@pytest.mark.parametrize("field", ["not_before", "expires_at"])
async def test_absurd_dates_are_validation_errors(
    client: Client, pool: asyncpg.Pool, field: str
) -> None:
    for value in ABSURD:
        if value is None:
            continue  # null is "not given"
        body = {**apihelp.text_message(), field: value}
        status, answer = await _call(client, "POST", "/api/v1/accounts/acme/messages", body=body)
        assert status == 422, (value, answer)
        assert answer["error"]["code"] == "validation_error"
        assert any(field in d["loc"] for d in answer["error"]["details"]), (value, answer)
    assert await pool.fetchval("SELECT count(*) FROM messages") == 0


BROKEN_JSON = [
    b"",
    b"{",
    b"nul",
    b"\xff\xfe{}",
    b'{"id": "x"} trailing',
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'"\\ud800"',
    b'{"a": "\\u0000"}',
]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/accounts"),
        ("PATCH", "/api/v1/accounts/acme"),
        ("POST", "/api/v1/accounts/acme/messages"),
        ("POST", "/api/v1/accounts/acme/qrcodes"),
    ],
)
async def test_broken_json_is_a_clear_400(
    client: Client, pool: asyncpg.Pool, method: str, path: str
) -> None:
    for raw in BROKEN_JSON:
        status, answer = await _call(
            client, method, path, raw=raw, headers={"Content-Type": "application/json"}
        )
        assert status in (400, 422), (raw[:40], answer)
    await _intact(pool)
    assert await pool.fetchval("SELECT count(*) FROM messages") == 0


async def test_arrays_far_over_their_limits(client: Client, pool: asyncpg.Pool) -> None:
    to = apihelp.openid(1)
    text = {"msgtype": "text", "text": {"content": "x"}}
    too_many = {
        "type": "mass",
        "audience": {"openids": [f"o{n}" for n in range(60_000)]},
        "content": text,
    }
    over_a_mebibyte = {
        "type": "mass",
        "audience": {"openids": [apihelp.openid(n) for n in range(40_000)]},
        "content": text,
    }
    cases: list[tuple[str, str, Any, int]] = [
        ("POST", "/api/v1/accounts/acme/messages", too_many, 422),
        ("POST", "/api/v1/accounts/acme/messages", over_a_mebibyte, 413),
        (
            "POST",
            "/api/v1/accounts/acme/messages",
            {
                "type": "template",
                "to": to,
                "template": {
                    "template_id": "t",
                    "data": {f"k{n}": {"value": "v"} for n in range(5_000)},
                },
            },
            422,
        ),
        (
            "POST",
            "/api/v1/accounts/acme/messages",
            {
                "type": "customer_service",
                "to": to,
                "content": {
                    "msgtype": "news",
                    "news": {"articles": [{"title": "t", "url": "https://a.test"}] * 20_000},
                },
            },
            422,
        ),
        ("PATCH", "/api/v1/accounts/acme", {"oauth_redirect_hosts": ["a.test"] * 50_000}, 422),
        (
            "POST",
            "/api/v1/accounts/acme/messages",
            {**apihelp.text_message(), "extra": [0] * 200_000},
            422,
        ),
        ("POST", "/api/v1/accounts/acme/messages", [apihelp.text_message()] * 5_000, 422),
    ]
    for method, path, body, expected in cases:
        status, answer = await _call(client, method, path, body=body)
        assert status == expected, (path, status, str(answer)[:300])
        if status == 422:
            # the details name what is wrong without echoing the input back
            assert len(json.dumps(answer)) < 200_000
    assert await pool.fetchval("SELECT count(*) FROM messages") == 0
    assert await pool.fetchval("SELECT oauth_redirect_hosts FROM accounts WHERE id = 'acme'") == []


async def test_tokens_that_are_almost_right(client: Client) -> None:
    """No token, wrong case of the token, the token with a suffix, a prefix of it, padding,
    a NUL, another scheme: 401 in the error shape, with the challenge."""
    for header in (
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Bearer {TOKEN.upper()}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        f"Token {TOKEN}",
        TOKEN,
        f"Bearer {TOKEN} {TOKEN}",
        "Bearer " + "x" * 4000,
    ):
        headers = {} if header is None else {"Authorization": header}
        resp = await client.get("/api/v1/accounts", headers=headers)
        await apihelp.error(resp, 401, "unauthorized")
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
