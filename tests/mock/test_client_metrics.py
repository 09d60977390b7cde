"""Every call WeChatClient makes is counted by path and errcode, in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway import metrics
from gateway.mock import app as mock_app
from gateway.wechat import client as wx
from tests.mock.conftest import FakeGateway, Platform

CUSTOM = "/cgi-bin/message/custom/send"


def _count(path: str, errcode: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "wxgate_wechat_calls_total", {"path": path, "errcode": errcode}
    )
    return value or 0.0


async def test_successes_errcodes_and_transport_failures_are_counted(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    gateway: FakeGateway,
) -> None:
    server = await aiohttp_server(mock_app.create_mock_app(), host="127.0.0.1")
    platform = Platform(await aiohttp_client(server), gateway)
    await platform.register("wxmetrics")
    base = str(server.make_url("")).rstrip("/")
    before = {
        k: _count(*k)
        for k in (
            ("/cgi-bin/stable_token", "0"),
            (CUSTOM, "40001"),
            (CUSTOM, "transport"),
        )
    }
    async with aiohttp.ClientSession() as session:
        client = wx.WeChatClient(session, base)
        token = await client.stable_token("wxmetrics", "secret-wxmetrics")
        assert token.access_token
        with pytest.raises(wx.WeChatError):
            await client.send_custom("not-a-token", {"touser": "o1", "msgtype": "text"})
        await server.close()  # nothing listens any more: a transport failure
        with pytest.raises(wx.TransportError):
            await client.send_custom(token.access_token, {"touser": "o1", "msgtype": "text"})
    assert _count("/cgi-bin/stable_token", "0") == before[("/cgi-bin/stable_token", "0")] + 1
    assert _count(CUSTOM, "40001") == before[(CUSTOM, "40001")] + 1
    assert _count(CUSTOM, "transport") == before[(CUSTOM, "transport")] + 1
