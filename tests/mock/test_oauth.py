"""OAuth web authorization: auto-consent, single-use codes, userinfo by scope."""

from __future__ import annotations

from typing import Any

from yarl import URL

from tests.mock.conftest import Clock, Platform

REDIRECT = "https://shop.example.com/oauth/callback?from=menu"


async def _authorize(platform: Platform, app_id: str, scope: str, **extra: str) -> Any:
    query = {
        "appid": app_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": scope,
        "state": "xyz123",
        **extra,
    }
    return await platform.client.get(
        "/connect/oauth2/authorize", params=query, allow_redirects=False
    )


async def _code(platform: Platform, app_id: str, scope: str, **extra: str) -> str:
    answer = await _authorize(platform, app_id, scope, **extra)
    assert answer.status == 302
    target = URL(answer.headers["Location"])
    assert target.with_query(None) == URL(REDIRECT).with_query(None)
    assert target.query["from"] == "menu" and target.query["state"] == "xyz123"
    return target.query["code"]


async def _exchange(platform: Platform, code: str, secret: str = "secret-wxa") -> dict[str, Any]:
    query = {"appid": "wxa", "secret": secret, "code": code, "grant_type": "authorization_code"}
    answer = await platform.client.get("/sns/oauth2/access_token", params=query)
    return dict(await answer.json())


async def test_userinfo_flow(platform: Platform) -> None:
    await platform.register("wxa")
    code = await _code(platform, "wxa", "snsapi_userinfo", openid="o-alice")
    grant = await _exchange(platform, code)
    assert grant["openid"] == "o-alice" and grant["scope"] == "snsapi_userinfo"
    assert grant["expires_in"] == 7200 and grant["refresh_token"] and grant["unionid"]
    query = {"access_token": grant["access_token"], "openid": "o-alice", "lang": "zh_CN"}
    profile = await (await platform.client.get("/sns/userinfo", params=query)).json()
    assert profile["openid"] == "o-alice" and profile["unionid"] == grant["unionid"]
    assert (profile["sex"], profile["province"], profile["privilege"]) == (0, "", [])
    assert (await platform.sent("wxa"))[-1]["path"] == "/sns/userinfo"


async def test_base_scope_gets_a_fresh_deterministic_openid(platform: Platform) -> None:
    await platform.register("wxa")
    grant = await _exchange(platform, await _code(platform, "wxa", "snsapi_base"))
    assert len(grant["openid"]) == 28 and "unionid" not in grant
    query = {"access_token": grant["access_token"], "openid": grant["openid"]}
    profile = await (await platform.client.get("/sns/userinfo", params=query)).json()
    assert profile["errcode"] == 48001
    second = await _exchange(platform, await _code(platform, "wxa", "snsapi_base"))
    assert second["openid"] != grant["openid"]


async def test_code_is_single_use(platform: Platform) -> None:
    await platform.register("wxa")
    code = await _code(platform, "wxa", "snsapi_base")
    assert (await _exchange(platform, code, secret="wrong"))["errcode"] == 40125
    assert "access_token" in await _exchange(platform, code)
    reused = await _exchange(platform, code)
    assert reused["errcode"] == 40163
    assert reused["errmsg"].startswith("code been used rid: ")


async def test_code_expires_after_five_minutes(platform: Platform, clock: Clock) -> None:
    await platform.register("wxa")
    code = await _code(platform, "wxa", "snsapi_base")
    clock.advance(minutes=5)
    expired = await _exchange(platform, code)
    assert expired["errcode"] == 40029
    assert expired["errmsg"].startswith("invalid code rid: ")
    assert (await _exchange(platform, "made-up"))["errcode"] == 40029


async def test_subscription_account_gets_the_10005_page(platform: Platform) -> None:
    await platform.register("wxs", "subscription")
    answer = await _authorize(platform, "wxs", "snsapi_base")
    assert answer.status == 400 and "10005" in await answer.text()
    await platform.register("wxa")
    assert (await _authorize(platform, "wxa", "snsapi_login")).status == 400
