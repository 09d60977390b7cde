"""OAuth hardening: the state is bound to the browser that started the flow (no login CSRF),
the allow-list compares host and port, malformed targets are refused before parsing, a
target that cannot be built consumes nothing, and pending states are capped per account."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import aiohttp
import asyncpg
import pydantic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from tests import wx
from tests.api.test_oauth import FOLLOWER, TARGET, authorize, gateway, platform

__all__ = ["gateway", "platform"]  # fixtures, shared with test_oauth

Client = TestClient[web.Request, web.Application]
COOKIE = "wxgate_oauth"  # the browser-binding cookie
CAP = 10_000  # pending states per account (README, Decisions)


async def callback(gateway: Client, code: str, state: str) -> aiohttp.ClientResponse:
    resp: aiohttp.ClientResponse = await gateway.get(
        "/oauth/acme/callback", params={"code": code, "state": state}, allow_redirects=False
    )
    return resp


async def state_row(pool: asyncpg.Pool, state: str) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM oauth_states WHERE state = $1", state)
    assert row is not None
    return row


async def grants(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM followers WHERE oauth_at IS NOT NULL"))


# -- 12: the state belongs to the browser that asked for it --------------------------------


async def test_a_state_from_another_browser_is_refused_and_kept(
    gateway: Client, platform: Client, pool: asyncpg.Pool
) -> None:
    """Login CSRF: the attacker's own code and state, opened in the victim's browser."""
    code, state = await authorize(gateway, platform, "snsapi_base")
    gateway.session.cookie_jar.clear()  # the victim's browser: no cookie from that flow
    resp = await callback(gateway, code, state)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_state"
    # A victim with a flow of their own carries a cookie, but not that flow's.
    await gateway.get("/oauth/acme/authorize", params={"redirect": TARGET}, allow_redirects=False)
    resp = await callback(gateway, code, state)
    assert resp.status == 400
    assert (await state_row(pool, state))["consumed_at"] is None
    assert await grants(pool) == 0


async def test_one_browser_may_run_two_flows_at_once(
    gateway: Client, platform: Client, pool: asyncpg.Pool
) -> None:
    first = await authorize(gateway, platform, "snsapi_base")
    second = await authorize(gateway, platform, "snsapi_userinfo")
    for code, state in (second, first):
        resp = await callback(gateway, code, state)
        assert resp.status == 302
    assert await grants(pool) == 1


async def test_the_cookie_is_http_only_lax_and_scoped_to_the_account(gateway: Client) -> None:
    resp = await gateway.get(
        "/oauth/acme/authorize", params={"redirect": TARGET}, allow_redirects=False
    )
    assert resp.status == 302
    morsel = resp.cookies[COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/oauth/acme/"
    assert not morsel["secure"]  # PUBLIC_URL is http here
    assert 0 < int(morsel["max-age"]) <= 600


async def test_the_cookie_is_secure_when_the_public_url_is_https(
    db_url: str, pool: asyncpg.Pool, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    await wx.insert_account(pool, "acme", oauth_hosts=("shop.example.com",))
    settings = settings_mod.Settings(
        database_url=db_url,
        api_token=pydantic.SecretStr("t"),
        wechat_oauth_base="http://127.0.0.1:9",
        public_url="https://gateway.test",
    )
    client = await aiohttp_client(app_mod.create_app(settings))
    resp = await client.get(
        "/oauth/acme/authorize", params={"redirect": TARGET}, allow_redirects=False
    )
    assert resp.status == 302
    assert resp.cookies[COOKIE]["secure"] is True


# -- 12: the allow-list compares host and port exactly ---------------------------------------


@pytest.mark.parametrize(
    ("hosts", "target", "allowed"),
    [
        (["shop.example.com"], "https://shop.example.com:8443/x", False),
        (["shop.example.com"], "http://shop.example.com:8080/x", False),
        (["shop.example.com"], "https://shop.example.com:443/x", True),
        (["shop.example.com"], "http://shop.example.com:80/x", True),
        (["shop.example.com"], "https://SHOP.example.com/x", True),
        (["shop.example.com:8443"], "https://shop.example.com:8443/x", True),
        (["shop.example.com:8443"], "https://shop.example.com/x", False),
        (["shop.example.com:443"], "https://shop.example.com/x", True),
        (["shop.example.com:443"], "http://shop.example.com/x", False),
        (["shop.example.com:443"], "http://shop.example.com:443/x", True),
    ],
)
async def test_allow_list_compares_host_and_port(
    gateway: Client, pool: asyncpg.Pool, hosts: list[str], target: str, allowed: bool
) -> None:
    await pool.execute("UPDATE accounts SET oauth_redirect_hosts = $1 WHERE id = 'acme'", hosts)
    resp = await gateway.get(
        "/oauth/acme/authorize", params={"redirect": target}, allow_redirects=False
    )
    assert resp.status == (302 if allowed else 400)
    assert await pool.fetchval("SELECT count(*) FROM oauth_states") == (1 if allowed else 0)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.org\\@shop.example.com/",  # browsers read '\' as '/'
        "https://shop.example.com\\evil.example.org/",
        "\x01https://shop.example.com/",
        " https://shop.example.com/",
        "https://shop.example.com/\x00",
        "https://shop.example.com/a\tb",
        "https://shop.example.com/\x7f",
        "https://shop.example.com/\x85",
        "ftp://shop.example.com/",
        "https:shop.example.com/x",
        "https:/shop.example.com/x",
        "https://shop.example.com:99999/",
        "https://shop.example.com:abc/",
        "https://[::1/",
    ],
)
async def test_malformed_targets_are_refused(
    gateway: Client, pool: asyncpg.Pool, target: str
) -> None:
    resp = await gateway.get(
        "/oauth/acme/authorize", params={"redirect": target}, allow_redirects=False
    )
    assert resp.status == 400
    assert await pool.fetchval("SELECT count(*) FROM oauth_states") == 0


async def test_a_target_that_cannot_be_built_consumes_nothing(
    gateway: Client, platform: Client, pool: asyncpg.Pool
) -> None:
    """A stored target the redirect cannot be made of (stored before these checks): a 4xx,
    the state stays usable and no grant is recorded."""
    code, state = await authorize(gateway, platform, "snsapi_base")
    await pool.execute(
        "UPDATE oauth_states SET target = 'https://shop.example.com:99999/' WHERE state = $1",
        state,
    )
    resp = await callback(gateway, code, state)
    assert 400 <= resp.status < 500
    assert (await state_row(pool, state))["consumed_at"] is None
    assert await grants(pool) == 0
    row = await pool.fetchrow("SELECT * FROM followers WHERE openid = $1", FOLLOWER)
    assert row is None


# -- 13: pending states are capped per account ---------------------------------------------


async def fill(pool: asyncpg.Pool, account_id: str, count: int, expires: dt.timedelta) -> None:
    await pool.execute(
        "INSERT INTO oauth_states (account_id, state, target, scope, expires_at)"
        " SELECT $1, 'filler' || i, $2, 'snsapi_base', now() + $3"
        "   FROM generate_series(1, $4) AS i",
        account_id,
        TARGET,
        expires,
        count,
    )


async def test_pending_states_are_capped_per_account(gateway: Client, pool: asyncpg.Pool) -> None:
    await wx.insert_account(pool, "other", app_id="wx00000000000000bb", oauth_hosts=("a.b",))
    await fill(pool, "acme", CAP, dt.timedelta(minutes=10))
    resp = await gateway.get(
        "/oauth/acme/authorize", params={"redirect": TARGET}, allow_redirects=False
    )
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "too_many_requests"
    count = "SELECT count(*) FROM oauth_states WHERE account_id = $1"
    assert await pool.fetchval(count, "acme") == CAP
    # Another account is not affected.
    resp = await gateway.get(
        "/oauth/other/authorize", params={"redirect": "https://a.b/"}, allow_redirects=False
    )
    assert resp.status == 302


async def test_expired_states_do_not_count_and_are_cleared_as_new_ones_come(
    gateway: Client, pool: asyncpg.Pool
) -> None:
    await fill(pool, "acme", CAP, dt.timedelta(seconds=-1))
    resp = await gateway.get(
        "/oauth/acme/authorize", params={"redirect": TARGET}, allow_redirects=False
    )
    assert resp.status == 302
    left = await pool.fetchval("SELECT count(*) FROM oauth_states WHERE expires_at < now()")
    assert left < CAP  # each new state clears some expired ones


async def _lock_waiters(pool: asyncpg.Pool, count: int) -> None:
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
        "   AND datname = current_database()"
    )
    for _ in range(500):
        if await pool.fetchval(query) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the new states never waited for the account's lock")


async def test_the_cap_holds_for_concurrent_flows(gateway: Client, pool: asyncpg.Pool) -> None:
    """Two flows for the last free slot: one 302, one 429, never CAP + 1 states."""
    await fill(pool, "acme", CAP - 1, dt.timedelta(minutes=10))
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT pg_advisory_xact_lock(hashtext('wxgate-oauth-states:acme'))")
        flows = [
            asyncio.create_task(
                gateway.get(
                    "/oauth/acme/authorize", params={"redirect": TARGET}, allow_redirects=False
                )
            )
            for _ in range(2)
        ]
        await _lock_waiters(pool, 2)
    answers = sorted([(await flow).status for flow in flows])
    assert answers == [302, 429]
    assert await pool.fetchval("SELECT count(*) FROM oauth_states") == CAP
