"""Injected faults: error codes, HTTP errors, dropped connections, latency, counts."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.mock.conftest import Platform, text

CUSTOM = "/cgi-bin/message/custom/send"


async def _ready(platform: Platform) -> str:
    await platform.register("wxa")
    await platform.act("wxa", "o1", "subscribe")
    return await platform.token("wxa")


async def test_errcode_at_rate_one_until_cleared(platform: Platform) -> None:
    token = await _ready(platform)
    fault = {"path": CUSTOM, "rate": 1, "errcode": 45009}
    assert (await platform.client.post("/_mock/faults", json=fault)).status == 201
    for _ in range(3):
        answer = await platform.call(CUSTOM, token, text("o1"))
        assert answer["errcode"] == 45009
        assert answer["errmsg"].startswith("reach max api daily quota limit rid: ")
    other = await platform.call("/cgi-bin/tags/get", token, {})
    assert "tags" in other  # other paths are untouched
    listed = await (await platform.client.get("/_mock/faults")).json()
    assert listed["faults"][0]["hits"] == 3
    assert (await platform.client.delete("/_mock/faults")).status == 200
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0
    verdicts = [e["verdict"] for e in await platform.sent("wxa") if e["path"] == CUSTOM]
    assert verdicts == ["refused: reach max api daily quota limit (injected fault)"] * 3 + ["ok"]


async def test_count_limits_a_fault(platform: Platform) -> None:
    token = await _ready(platform)
    fault = {"path": CUSTOM, "errcode": -1, "count": 2}
    await platform.client.post("/_mock/faults", json=fault)
    codes = [(await platform.call(CUSTOM, token, text("o1")))["errcode"] for _ in range(3)]
    assert codes == [-1, -1, 0]


async def test_rate_zero_never_fires(platform: Platform) -> None:
    token = await _ready(platform)
    await platform.client.post("/_mock/faults", json={"path": CUSTOM, "rate": 0, "errcode": -1})
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0


async def test_http_status_and_latency(platform: Platform) -> None:
    token = await _ready(platform)
    fault = {"path": CUSTOM, "http_status": 502, "latency_ms": 20, "count": 1}
    await platform.client.post("/_mock/faults", json=fault)
    answer = await platform.client.post(CUSTOM, params={"access_token": token}, json=text("o1"))
    assert answer.status == 502
    entry = (await platform.sent("wxa"))[-1]
    assert (entry["errcode"], entry["verdict"]) == (None, "refused: injected HTTP 502")


async def test_latency_alone_delays_the_real_answer(platform: Platform) -> None:
    token = await _ready(platform)
    await platform.client.post("/_mock/faults", json={"path": CUSTOM, "latency_ms": 150})
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0
    assert loop.time() - started >= 0.15


async def test_dropped_connection(platform: Platform) -> None:
    token = await _ready(platform)
    await platform.client.post("/_mock/faults", json={"path": CUSTOM, "drop": True, "count": 1})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await platform.client.post(CUSTOM, params={"access_token": token}, json=text("o1"))
    assert (await platform.call(CUSTOM, token, text("o1")))["errcode"] == 0


async def test_token_endpoints_can_fail_too(platform: Platform) -> None:
    await platform.register("wxa")
    await platform.client.post(
        "/_mock/faults", json={"path": "/cgi-bin/stable_token", "errcode": -1}
    )
    body = {"grant_type": "client_credential", "appid": "wxa", "secret": "secret-wxa"}
    answer = await platform.client.post("/cgi-bin/stable_token", json=body)
    assert (await answer.json())["errcode"] == -1


@pytest.mark.parametrize(
    "fault",
    [
        {"path": CUSTOM},
        {"path": CUSTOM, "errcode": -1, "rate": 2},
        {"path": "/_mock/faults", "errcode": -1},
        {"path": "no-slash", "errcode": -1},
    ],
)
async def test_bad_faults_are_refused(platform: Platform, fault: dict[str, object]) -> None:
    answer = await platform.client.post("/_mock/faults", json=fault)
    assert answer.status == 400
    assert (await answer.json())["error"]["code"] == "validation_error"
