"""`/api/v1/accounts/{id}/followers` over HTTP: state, window, mass quota, keyset pages."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import asyncpg

from gateway.domain import periods
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")  # the default WXGATE_QUOTA_TIMEZONE


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def test_service_follower_has_window_and_quota(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.create_account(client, "acme")
    ends = now() + dt.timedelta(hours=20)
    who = apihelp.openid(1)
    await apihelp.add_follower(
        pool,
        "acme",
        who,
        window_ends_at=ends,
        subscribed_at=now() - dt.timedelta(days=3),
        first_qr_scene="launch",
        latest_qr_scene="42",
        oauth_scope="snsapi_userinfo",
        oauth_at=now(),
        unionid="u-1",
        nickname="小明 O'Brien",
    )
    await pool.execute(
        "INSERT INTO follower_mass_usage (account_id, openid, period, used) VALUES ($1, $2, $3, 3)",
        "acme",
        who,
        periods.month_key(now(), SHANGHAI),
    )
    resp = await client.get(f"/api/v1/accounts/acme/followers/{who}", headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert body["subscribed"] is True
    assert body["first_qr_scene"] == "launch" and body["latest_qr_scene"] == "42"
    assert body["oauth"]["scope"] == "snsapi_userinfo"
    assert body["oauth"]["nickname"] == "小明 O'Brien"
    assert body["window"]["open"] is True
    assert dt.datetime.fromisoformat(body["window"]["expires_at"]) == ends
    quota = body["mass_quota"]
    assert quota["limit"] == 4 and quota["used"] == 3 and quota["remaining"] == 1
    assert quota["period"] == periods.month_key(now(), SHANGHAI).isoformat()
    resets = dt.datetime.fromisoformat(quota["resets_at"])
    assert resets == periods.next_month_start(now(), SHANGHAI)


async def test_subscription_follower_has_no_quota(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.create_account(client, "news", kind="subscription")
    await apihelp.add_follower(pool, "news", "o-1", window_ends_at=now() - dt.timedelta(seconds=1))
    body = await (await client.get("/api/v1/accounts/news/followers/o-1", headers=AUTH)).json()
    assert body["mass_quota"] is None
    assert body["window"] == {"open": False, "expires_at": None, "remaining": None}
    assert body["oauth"] is None


async def test_used_up_wechat_2023_window_is_closed(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.create_account(client, "acme", rule_profile="wechat-2023")
    await apihelp.add_follower(
        pool, "acme", "o-1", window_ends_at=now() + dt.timedelta(hours=1), window_remaining=0
    )
    await apihelp.add_follower(
        pool, "acme", "o-2", window_ends_at=now() + dt.timedelta(hours=1), window_remaining=2
    )
    one = await (await client.get("/api/v1/accounts/acme/followers/o-1", headers=AUTH)).json()
    two = await (await client.get("/api/v1/accounts/acme/followers/o-2", headers=AUTH)).json()
    assert one["window"]["open"] is False
    assert two["window"]["open"] is True and two["window"]["remaining"] == 2


async def test_unknown_follower_or_account_is_not_found(client: Client) -> None:
    await apihelp.create_account(client, "acme")
    for path in (
        "/api/v1/accounts/acme/followers/nobody",
        "/api/v1/accounts/ghost/followers/nobody",
        "/api/v1/accounts/acme/followers/bad%20openid",
        "/api/v1/accounts/ghost/followers",
    ):
        await apihelp.error(await client.get(path, headers=AUTH), 404, "not_found")


async def test_list_filters_by_window_in_keyset_pages(client: Client, pool: asyncpg.Pool) -> None:
    await apihelp.create_account(client, "acme")
    open_ids, closed_ids = [], []
    for n in range(7):
        who = apihelp.openid(n)
        if n % 2 == 0:
            await apihelp.add_follower(
                pool, "acme", who, window_ends_at=now() + dt.timedelta(hours=1)
            )
            open_ids.append(who)
        else:
            ends = None if n == 1 else now() - dt.timedelta(hours=1)
            await apihelp.add_follower(pool, "acme", who, window_ends_at=ends)
            closed_ids.append(who)

    async def collect(window: str | None) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": "2"}
            if window:
                params["window"] = window
            if cursor:
                params["cursor"] = cursor
            resp = await client.get("/api/v1/accounts/acme/followers", params=params, headers=AUTH)
            assert resp.status == 200, await resp.text()
            page = await resp.json()
            assert len(page["items"]) <= 2
            seen += [f["openid"] for f in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    assert await collect("open") == open_ids
    assert await collect("closed") == closed_ids
    assert await collect(None) == sorted(open_ids + closed_ids)


async def test_list_default_page_and_empty(client: Client) -> None:
    await apihelp.create_account(client, "acme")
    resp = await client.get("/api/v1/accounts/acme/followers", headers=AUTH)
    assert await resp.json() == {"items": [], "next_cursor": None}


BAD_PARAMETERS = [
    {"limit": "0"},
    {"limit": "501"},
    {"limit": "ten"},
    {"window": "ajar"},
    {"cursor": "not-a-cursor"},
    {"cursor": "eyJrIjogMX0"},  # {"k": 1}: a message cursor, not a follower one
    {"unknown": "1"},
]


async def test_list_rejects_bad_parameters(client: Client) -> None:
    await apihelp.create_account(client, "acme")
    for params in BAD_PARAMETERS:
        resp = await client.get("/api/v1/accounts/acme/followers", params=params, headers=AUTH)
        assert resp.status == 422, params
        await apihelp.error(resp, 422, "validation_error")
