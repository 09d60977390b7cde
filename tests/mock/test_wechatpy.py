"""An independent client, wechatpy, fetches a token from the mock and sends through it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from wechatpy import WeChatClient  # type: ignore[import-untyped]

from gateway.mock import app as mock_app
from tests.mock.conftest import FakeGateway, Platform


class MockWeChatClient(WeChatClient):  # type: ignore[misc]
    """wechatpy joins API_BASE_URL and each endpoint; only the token URL is hard-coded."""

    def fetch_access_token(self) -> Any:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        return self._fetch_access_token(url=self.API_BASE_URL + "token", params=params)


def _send(base: str) -> tuple[Any, Any]:
    client = MockWeChatClient("wxpy", "secret-wxpy")
    client.API_BASE_URL = f"{base}/cgi-bin/"
    try:
        token = client.fetch_access_token()
        sent = client.message.send_text("o-wechatpy", "hello from wechatpy")
    finally:
        client._http.close()
    return token, sent


async def test_wechatpy_fetches_a_token_and_sends_a_text(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    gateway: FakeGateway,
) -> None:
    server = await aiohttp_server(mock_app.create_mock_app(), host="127.0.0.1")
    platform = Platform(await aiohttp_client(server), gateway)
    await platform.register("wxpy")
    await platform.act("wxpy", "o-wechatpy", "subscribe")
    await platform.act("wxpy", "o-wechatpy", "text", content="open my window")
    base = str(server.make_url("")).rstrip("/")
    token, sent = await asyncio.wait_for(asyncio.to_thread(_send, base), timeout=30)
    assert token["expires_in"] == 7200 and token["access_token"]
    assert sent == {"errcode": 0, "errmsg": "ok"}
    log = await platform.sent("wxpy")
    assert [(e["path"], e["verdict"]) for e in log] == [("/cgi-bin/message/custom/send", "ok")]
    assert log[0]["body"] == {
        "touser": "o-wechatpy",
        "msgtype": "text",
        "text": {"content": "hello from wechatpy"},
    }
    info = await (await platform.client.get("/_mock/accounts/wxpy")).json()
    assert info["token_fetches"]["token"] == 1
