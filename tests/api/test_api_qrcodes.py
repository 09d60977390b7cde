"""`POST /api/v1/accounts/{id}/qrcodes` against the mock WeChat platform: scene rules, the
permanent-code limit held by the database, and upstream failures."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from urllib.parse import quote

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.api import keys, qrcodes
from gateway.mock import app as mock_app
from gateway.store import accounts as accounts_store
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH, ClientFactory

URL = "/api/v1/accounts/{}/qrcodes"


@pytest.fixture
async def mock(aiohttp_server: Any) -> TestServer:
    server: TestServer = await aiohttp_server(mock_app.create_mock_app())
    return server


@pytest.fixture
async def api(
    settings: settings_mod.Settings, mock: TestServer, aiohttp_client: ClientFactory
) -> Client:
    base = str(mock.make_url("")).rstrip("/")
    app = app_mod.create_app(settings.model_copy(update={"wechat_api_base": base}))

    async def register(account: accounts_store.Account) -> None:
        # What `wxgate run` does with the embedded mock: every new account exists there too.
        body = {k: getattr(account, k) for k in ("app_id", "app_secret", "kind", "token")}
        body["callback_url"] = f"http://127.0.0.1:9/wechat/{account.id}"
        async with aiohttp.ClientSession() as session:
            resp = await session.post(mock.make_url("/_mock/accounts"), json=body)
            assert resp.status == 201, await resp.text()

    app[keys.ACCOUNT_CREATED_HOOKS].append(register)
    client = await aiohttp_client(app)
    await apihelp.create_account(client, "acme", kind="service", app_id="wxacme")
    await apihelp.create_account(client, "news", kind="subscription", app_id="wxnews")
    return client


async def create(api: Client, body: dict[str, Any], account: str = "acme") -> Any:
    return await api.post(URL.format(account), json=body, headers=AUTH)


async def test_temporary_int_scene(api: Client, mock: TestServer) -> None:
    resp = await create(api, {"scene": 123})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["scene"] == 123 and body["permanent"] is False
    assert body["url"].startswith("http://weixin.qq.com/q/")
    expires = dt.datetime.fromisoformat(body["expires_at"])
    left = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=50) < left <= dt.timedelta(seconds=60)
    base = str(mock.make_url("")).rstrip("/")
    assert body["image_url"] == f"{base}/cgi-bin/showqrcode?ticket={quote(body['ticket'], safe='')}"
    async with aiohttp.ClientSession() as session, session.get(body["image_url"]) as image:
        assert image.status == 200 and image.content_type == "image/png"


async def test_temporary_string_scene_for_thirty_days(api: Client, pool: asyncpg.Pool) -> None:
    resp = await create(api, {"scene": "spring-sale", "expire_seconds": 2_592_000})
    body = await resp.json()
    assert resp.status == 201 and body["scene"] == "spring-sale"
    left = dt.datetime.fromisoformat(body["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29, hours=23) < left <= dt.timedelta(days=30)
    row = await pool.fetchrow("SELECT * FROM qr_codes")
    assert row is not None and (row["scene"], row["scene_is_int"]) == ("spring-sale", False)
    assert await pool.fetchval("SELECT count(*) FROM qr_permanent_counts") == 0


async def test_permanent_scene_is_created_once(api: Client, pool: asyncpg.Pool) -> None:
    first = await create(api, {"scene": "store-7", "permanent": True})
    assert first.status == 201
    body = await first.json()
    assert body["permanent"] is True and body["expires_at"] is None
    again = await create(api, {"scene": "store-7", "permanent": True})
    assert again.status == 200 and (await again.json())["ticket"] == body["ticket"]
    other = await create(api, {"scene": 7, "permanent": True})
    assert other.status == 201 and (await other.json())["scene"] == 7
    assert await pool.fetchval("SELECT used FROM qr_permanent_counts") == 2


BAD_SCENES: list[dict[str, Any]] = [
    {"scene": 0},
    {"scene": 2**31},
    {"scene": -(2**31) - 1},
    {"scene": 0, "permanent": True},
    {"scene": 100_001, "permanent": True},
    {"scene": ""},
    {"scene": "x" * 65},
    {"scene": True},
    {"scene": 1.5},
    {"scene": None},
    {"scene": 1, "expire_seconds": 59},
    {"scene": 1, "expire_seconds": 2_592_001},
    {"scene": 1, "permanent": True, "expire_seconds": 60},
    {"scene": 1, "permanent": "yes"},
    {"scene": 1, "color": "red"},
    {},
]


async def test_scene_rules(api: Client, pool: asyncpg.Pool) -> None:
    for body in BAD_SCENES:
        resp = await create(api, body)
        assert resp.status == 422, body
        await apihelp.error(resp, 422, "validation_error")
    assert await pool.fetchval("SELECT count(*) FROM qr_codes") == 0


async def test_extreme_valid_scenes(api: Client) -> None:
    for body in ({"scene": -(2**31)}, {"scene": 2**31 - 1}, {"scene": 100_000, "permanent": True},
                 {"scene": "s" * 64, "permanent": True}):  # fmt: skip
        resp = await create(api, body)
        assert resp.status == 201, (body, await resp.text())


async def test_subscription_account_is_refused(api: Client, pool: asyncpg.Pool) -> None:
    err = await apihelp.error(
        await create(api, {"scene": 1}, "news"), 403, "capability_not_available"
    )
    assert "subscription accounts cannot create parametric QR codes" in err["message"]
    assert await pool.fetchval("SELECT count(*) FROM qr_codes") == 0


async def test_unknown_account(api: Client) -> None:
    await apihelp.error(await create(api, {"scene": 1}, "ghost"), 404, "not_found")


async def test_the_100001st_permanent_code_is_refused_under_a_race(
    api: Client, pool: asyncpg.Pool
) -> None:
    await pool.execute("INSERT INTO qr_permanent_counts (account_id, used) VALUES ('acme', 99999)")
    answers = await asyncio.gather(
        create(api, {"scene": "last-a", "permanent": True}),
        create(api, {"scene": "last-b", "permanent": True}),
    )
    assert sorted(r.status for r in answers) == [201, 409]
    loser = next(r for r in answers if r.status == 409)
    await apihelp.error(loser, 409, "qr_permanent_limit_reached")
    assert await pool.fetchval("SELECT used FROM qr_permanent_counts") == 100_000
    assert await pool.fetchval("SELECT count(*) FROM qr_codes") == 1
    # Temporary codes are not limited; an existing permanent scene is still answered.
    assert (await create(api, {"scene": "more"})).status == 201
    winner = await pool.fetchval("SELECT scene FROM qr_codes WHERE permanent")
    assert (await create(api, {"scene": winner, "permanent": True})).status == 200


async def test_wechat_failure_gives_the_slot_back(
    api: Client, pool: asyncpg.Pool, mock: TestServer
) -> None:
    async with aiohttp.ClientSession() as session:
        fault = {"path": "/cgi-bin/qrcode/create", "errcode": 45009, "count": 1}
        assert (await session.post(mock.make_url("/_mock/faults"), json=fault)).status < 300
    err = await apihelp.error(
        await create(api, {"scene": "x", "permanent": True}), 502, "upstream_error"
    )
    assert err["details"]["errcode"] == 45009
    assert await pool.fetchval("SELECT coalesce(sum(used), 0) FROM qr_permanent_counts") == 0
    assert await pool.fetchval("SELECT count(*) FROM qr_codes") == 0
    assert (await create(api, {"scene": "x", "permanent": True})).status == 201
    assert await pool.fetchval("SELECT used FROM qr_permanent_counts") == 1


async def test_stale_token_is_refreshed_once(api: Client, mock: TestServer) -> None:
    assert (await create(api, {"scene": 1})).status == 201
    async with aiohttp.ClientSession() as session:
        url = mock.make_url("/_mock/accounts/wxacme/tokens/invalidate")
        assert (await session.post(url)).status == 200
    assert (await create(api, {"scene": 2})).status == 201
    metrics = await (await api.get("/metrics")).text()
    assert 'wxgate_wechat_calls_total{errcode="40001",path="/cgi-bin/qrcode/create"}' in metrics


def test_image_url_uses_mp_host_for_the_real_platform() -> None:
    real = settings_mod.Settings(wechat_api_base="https://api.weixin.qq.com/")
    unset = settings_mod.Settings()
    mock = settings_mod.Settings(wechat_api_base="http://127.0.0.1:8080/mock-wechat")
    ticket = "gQH47joAAAAAAAAAASxod+HRw/Oi8=="
    encoded = "gQH47joAAAAAAAAAASxod%2BHRw%2FOi8%3D%3D"
    expected = f"https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket={encoded}"
    assert qrcodes.image_url(real, ticket) == expected
    assert qrcodes.image_url(unset, ticket) == expected
    assert qrcodes.image_url(mock, ticket) == (
        f"http://127.0.0.1:8080/mock-wechat/cgi-bin/showqrcode?ticket={encoded}"
    )
