"""Access tokens: stable and classic issuance, and the token check on every API call."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from gateway.mock import tokens
from tests.mock.conftest import Clock, Platform, text

CUSTOM = "/cgi-bin/message/custom/send"


async def _stable(client: TestClient[Any, Any], **body: Any) -> dict[str, Any]:
    answer = await client.post("/cgi-bin/stable_token", json=body)
    return dict(await answer.json())


async def _classic(client: TestClient[Any, Any], app_id: str, secret: str) -> dict[str, Any]:
    query = {"grant_type": "client_credential", "appid": app_id, "secret": secret}
    return dict(await (await platform_get(client, "/cgi-bin/token", query)).json())


async def platform_get(client: TestClient[Any, Any], path: str, query: dict[str, str]) -> Any:
    return await client.get(path, params=query)


async def test_stable_token_is_stable_until_forced(platform: Platform) -> None:
    await platform.register("wxa")
    first = await platform.token("wxa")
    assert await platform.token("wxa") == first
    forced = await platform.token("wxa", force=True)
    assert forced != first
    stale = await platform.call(CUSTOM, first, text("o1"))
    assert stale["errcode"] == 40001
    assert stale["errmsg"].startswith("invalid credential, access_token is invalid or not latest")
    info = await (await platform.client.get("/_mock/accounts/wxa")).json()
    assert info["token_fetches"] == {"stable_token": 3, "token": 0}


async def test_stable_token_reports_remaining_lifetime(platform: Platform, clock: Clock) -> None:
    await platform.register("wxa")
    good = {"grant_type": "client_credential", "appid": "wxa", "secret": "secret-wxa"}
    first = await _stable(platform.client, **good)
    assert first["expires_in"] == 7200
    clock.advance(seconds=1000)
    again = await _stable(platform.client, **good)
    assert again == {"access_token": first["access_token"], "expires_in": 6200}
    clock.advance(seconds=6000)  # 200 s left: inside the hand-over, a new one is issued
    fresh = await _stable(platform.client, **good)
    assert fresh["access_token"] != first["access_token"]
    assert (await platform.call(CUSTOM, first["access_token"], text("o1")))["errcode"] == 45015


async def test_token_errors(platform: Platform) -> None:
    await platform.register("wxa")
    client = platform.client
    bad_app = await _stable(client, grant_type="client_credential", appid="nope", secret="x")
    assert bad_app["errcode"] == 40013
    bad_secret = await _stable(client, grant_type="client_credential", appid="wxa", secret="x")
    assert bad_secret["errcode"] == 40125
    bad_grant = await _stable(client, grant_type="password", appid="wxa", secret="secret-wxa")
    assert bad_grant["errcode"] == 40002
    malformed = await client.post("/cgi-bin/stable_token", data=b"{not json")
    assert (await malformed.json())["errcode"] == 47001
    assert (await _classic(client, "wxa", "wrong"))["errcode"] == 40125


async def test_errmsg_carries_a_rid(platform: Platform) -> None:
    answer = await platform.call(CUSTOM, "", text("o1"))
    assert answer["errcode"] == 41001
    prefix, rid = answer["errmsg"].split(" rid: ")
    assert prefix == "access_token missing"
    assert [len(part) for part in rid.split("-")] == [8, 8, 8]
    int(rid.replace("-", ""), 16)


async def test_classic_token_keeps_the_previous_for_five_minutes(
    platform: Platform, clock: Clock
) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    first = (await _classic(platform.client, "wxa", "secret-wxa"))["access_token"]
    second = (await _classic(platform.client, "wxa", "secret-wxa"))["access_token"]
    assert first != second
    assert (await platform.call(CUSTOM, first, text("o1")))["errcode"] == 0
    clock.advance(minutes=5)
    assert (await platform.call(CUSTOM, first, text("o1")))["errcode"] == 40001
    assert (await platform.call(CUSTOM, second, text("o1")))["errcode"] == 0
    info = await (await platform.client.get("/_mock/accounts/wxa")).json()
    assert info["token_fetches"]["token"] == 2


async def test_expired_token_is_42001(platform: Platform, clock: Clock) -> None:
    await platform.register("wxa")
    token = await platform.token("wxa")
    clock.advance(seconds=tokens.LIFETIME.total_seconds())
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 42001


async def test_invalidated_token_is_40001_and_logged(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    token = await platform.token("wxa")
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0
    answer = await platform.client.post("/_mock/accounts/wxa/tokens/invalidate")
    assert (await answer.json())["invalidated"] == 1
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 40001
    fresh = await platform.token("wxa")
    assert fresh != token
    assert (await platform.call(CUSTOM, fresh, text("o1")))["errcode"] == 0
    verdicts = [entry["verdict"] for entry in await platform.sent("wxa")]
    assert verdicts[0] == "ok"
    assert verdicts[1].startswith("refused: invalid credential")
    assert verdicts[2] == "ok"


async def test_unknown_token_is_40001_and_missing_is_41001(platform: Platform) -> None:
    assert (await platform.call(CUSTOM, "made-up", text("o1")))["errcode"] == 40001
    answer = await platform.client.post(CUSTOM, json=text("o1"))
    assert (await answer.json())["errcode"] == 41001
