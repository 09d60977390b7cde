"""OAuth end to end: gateway -> (mock) WeChat authorize -> gateway callback -> target."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pydantic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway import oauth_sign
from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.mock import app as mock_app
from tests import wx

Client = TestClient[web.Request, web.Application]
FOLLOWER = "oFollower0123456789abcdefghi"
TARGET = "https://shop.example.com/welcome?from=menu"


@pytest.fixture
async def platform(aiohttp_client: Callable[..., Awaitable[Client]]) -> Client:
    return await aiohttp_client(mock_app.create_mock_app())


@pytest.fixture
async def gateway(
    db_url: str,
    pool: asyncpg.Pool,
    platform: Client,
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> AsyncIterator[Client]:
    base = str(platform.make_url("")).rstrip("/")
    await wx.insert_account(pool, "acme", oauth_hosts=("shop.example.com",))
    await wx.insert_account(
        pool,
        "news",
        kind="subscription",
        app_id="wx00000000000000aa",
        oauth_hosts=("shop.example.com",),
    )
    for app_id, secret, kind in (
        ("wx0123456789abcdef", "secret-acme", "service"),
        ("wx00000000000000aa", "secret-news", "subscription"),
    ):
        resp = await platform.post(
            "/_mock/accounts",
            json={
                "app_id": app_id,
                "app_secret": secret,
                "kind": kind,
                "token": wx.TOKEN,
                "callback_url": "http://127.0.0.1:9/unused",
            },
        )
        assert resp.status in (200, 201)
    settings = settings_mod.Settings(
        database_url=db_url,
        api_token=pydantic.SecretStr("t"),
        wechat_api_base=base,
        wechat_oauth_base=base,
        public_url="http://gateway.test",
    )
    yield await aiohttp_client(app_mod.create_app(settings))


async def authorize(gateway: Client, platform: Client, scope: str) -> tuple[str, str]:
    """Run the browser's first two hops; return the callback's code and state."""
    resp = await gateway.get(
        "/oauth/acme/authorize",
        params={"redirect": TARGET, "scope": scope},
        allow_redirects=False,
    )
    assert resp.status == 302
    location = resp.headers["Location"]
    assert location.endswith("#wechat_redirect")
    url = urllib.parse.urlsplit(location)
    query = dict(urllib.parse.parse_qsl(url.query))
    assert query["redirect_uri"] == "http://gateway.test/oauth/acme/callback"
    assert (query["appid"], query["scope"], query["response_type"]) == (
        "wx0123456789abcdef",
        scope,
        "code",
    )
    consent = await platform.get(f"{url.path}?{url.query}&openid={FOLLOWER}", allow_redirects=False)
    assert consent.status == 302
    back = urllib.parse.urlsplit(consent.headers["Location"])
    assert back.path == "/oauth/acme/callback"
    params = dict(urllib.parse.parse_qsl(back.query))
    return params["code"], params["state"]


@pytest.mark.parametrize("scope", ["snsapi_base", "snsapi_userinfo"])
async def test_flow_signs_the_identity_for_the_target(
    gateway: Client, platform: Client, pool: asyncpg.Pool, scope: str
) -> None:
    code, state = await authorize(gateway, platform, scope)
    resp = await gateway.get(
        "/oauth/acme/callback", params={"code": code, "state": state}, allow_redirects=False
    )
    assert resp.status == 302
    landing = urllib.parse.urlsplit(resp.headers["Location"])
    assert (landing.scheme, landing.hostname, landing.path) == (
        "https",
        "shop.example.com",
        "/welcome",
    )
    params = dict(urllib.parse.parse_qsl(landing.query))
    assert params["from"] == "menu" and params["openid"] == FOLLOWER
    # What the target application does with its copy of the signing key:
    assert oauth_sign.verify(
        "sign-acme",
        FOLLOWER,
        int(params["issued_at"]),
        "shop.example.com",
        params["signature"],
        int(time.time()),
    )
    assert not oauth_sign.verify(
        "sign-acme",
        FOLLOWER,
        int(params["issued_at"]),
        "evil.example.com",
        params["signature"],
        int(time.time()),
    )
    row = await pool.fetchrow("SELECT * FROM followers WHERE openid = $1", FOLLOWER)
    assert row is not None and row["oauth_scope"] == scope and row["oauth_at"] is not None
    if scope == "snsapi_userinfo":
        assert row["nickname"] and row["unionid"]


async def test_state_is_single_use(gateway: Client, platform: Client) -> None:
    code, state = await authorize(gateway, platform, "snsapi_base")
    first = await gateway.get(
        "/oauth/acme/callback", params={"code": code, "state": state}, allow_redirects=False
    )
    assert first.status == 302
    again = await gateway.get(
        "/oauth/acme/callback", params={"code": code, "state": state}, allow_redirects=False
    )
    assert again.status == 400
    assert (await again.json())["error"]["code"] == "invalid_state"


async def test_expired_and_unknown_states_are_400(
    gateway: Client, platform: Client, pool: asyncpg.Pool
) -> None:
    code, state = await authorize(gateway, platform, "snsapi_base")
    await pool.execute("UPDATE oauth_states SET expires_at = now() - interval '1 second'")
    resp = await gateway.get("/oauth/acme/callback", params={"code": code, "state": state})
    assert resp.status == 400
    resp = await gateway.get("/oauth/acme/callback", params={"code": code, "state": "f" * 32})
    assert resp.status == 400
    assert await pool.fetchval("SELECT count(*) FROM followers") == 0


async def test_reused_code_at_wechat_is_400(gateway: Client, platform: Client) -> None:
    code, state = await authorize(gateway, platform, "snsapi_base")
    await gateway.get(
        "/oauth/acme/callback", params={"code": code, "state": state}, allow_redirects=False
    )
    _, state2 = await authorize(gateway, platform, "snsapi_base")
    resp = await gateway.get(
        "/oauth/acme/callback", params={"code": code, "state": state2}, allow_redirects=False
    )
    assert resp.status == 400  # WeChat's 40163 "code been used"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.org/steal",
        "https://shop.example.com.evil.org/",
        "javascript:alert(1)",
        "//shop.example.com/x",
        "",
    ],
)
async def test_no_open_redirect(gateway: Client, pool: asyncpg.Pool, target: str) -> None:
    resp = await gateway.get(
        "/oauth/acme/authorize", params={"redirect": target}, allow_redirects=False
    )
    assert resp.status == 400
    assert await pool.fetchval("SELECT count(*) FROM oauth_states") == 0


async def test_bad_scope_is_400(gateway: Client) -> None:
    resp = await gateway.get(
        "/oauth/acme/authorize", params={"redirect": TARGET, "scope": "snsapi_all"}
    )
    assert resp.status == 400


async def test_subscription_account_is_refused(gateway: Client) -> None:
    for path in ("/oauth/news/authorize", "/oauth/news/callback"):
        resp = await gateway.get(path, params={"redirect": TARGET, "code": "c", "state": "s"})
        assert resp.status == 403
        error = (await resp.json())["error"]
        assert error["code"] == "capability_not_available"
        assert "OAuth" in error["message"] or "oauth" in error["message"].lower()


async def test_unknown_account_is_404(gateway: Client) -> None:
    resp = await gateway.get("/oauth/nobody/authorize", params={"redirect": TARGET})
    assert resp.status == 404
