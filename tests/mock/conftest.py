"""Fixtures for the mock platform's tests: a movable clock, the mock, a recording gateway."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.mock import app as mock_app
from gateway.wechat import crypto, signature, xmlcodec

TOKEN = "callbacktoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
START = datetime(2024, 6, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclasses.dataclass
class FakeGateway:
    """Records pushes after checking their signature; can fail the first attempts."""

    fail_first: int = 0
    failure: str = "status"  # "status": answer 500; "timeout": answer too late
    reply: str = "success"
    keys: dict[str, str] = dataclasses.field(default_factory=dict)  # app_id -> AES key
    pushes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    attempts: int = 0
    arrived: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        query = request.query
        if not signature.verify(query["signature"], TOKEN, query["timestamp"], query["nonce"]):
            return web.Response(status=403, text="bad signature")
        raw = await request.read()
        fields = xmlcodec.parse(raw)
        app_id = request.match_info["app_id"]
        if query.get("encrypt_type") == "aes":
            cipher = crypto.MessageCrypto(TOKEN, self.keys[app_id], app_id)
            expected = (query["timestamp"], query["nonce"], fields["Encrypt"])
            if query["msg_signature"] != cipher.msg_signature(*expected):
                return web.Response(status=403, text="bad msg_signature")
            if set(fields) != {"ToUserName", "Encrypt"}:
                return web.Response(status=400, text="not a safe-mode body")
            fields = xmlcodec.parse(cipher.decrypt(fields["Encrypt"]))
        if self.attempts <= self.fail_first:
            if self.failure == "timeout":
                await asyncio.sleep(1)
            return web.Response(status=500, text="try again")
        self.pushes.append({"query": dict(query), "fields": fields, "app_id": app_id})
        self.arrived.set()
        return web.Response(text=self.reply)

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = 3.0
    ) -> dict[str, Any]:
        """The first recorded push matching `predicate`, waiting for it if need be."""
        async with asyncio.timeout(within):
            while True:
                for push in self.pushes:
                    if predicate(push):
                        return push
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gateway(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> FakeGateway:
    fake = FakeGateway()
    app = web.Application()
    app.router.add_post("/wechat/{app_id}", fake.handle)
    server = await aiohttp_server(app)
    fake.url = str(server.make_url("/wechat"))
    return fake


@pytest.fixture
async def mock(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], clock: Clock
) -> TestClient[Any, Any]:
    app = mock_app.create_mock_app(clock=clock, callback_timeout=0.3, job_finish_delay=0.01)
    return await aiohttp_client(app)


class Platform:
    """Shortcuts over the mock's HTTP API for one test."""

    def __init__(self, client: TestClient[Any, Any], gateway: FakeGateway) -> None:
        self.client = client
        self.gateway = gateway

    async def register(
        self, app_id: str, kind: str = "service", *, aes: bool = False, **extra: Any
    ) -> dict[str, Any]:
        body = {
            "app_id": app_id,
            "app_secret": f"secret-{app_id}",
            "kind": kind,
            "token": TOKEN,
            "callback_url": f"{self.gateway.url}/{app_id}",
            **extra,
        }
        if aes:
            body["encoding_aes_key"] = AES_KEY
            self.gateway.keys[app_id] = AES_KEY
        answer = await self.client.post("/_mock/accounts", json=body)
        assert answer.status == 201, await answer.text()
        return dict(await answer.json())

    async def token(self, app_id: str, *, force: bool = False) -> str:
        body = {
            "grant_type": "client_credential",
            "appid": app_id,
            "secret": f"secret-{app_id}",
            "force_refresh": force,
        }
        answer = await (await self.client.post("/cgi-bin/stable_token", json=body)).json()
        return str(answer["access_token"])

    async def act(self, app_id: str, openid: str, action: str, **extra: Any) -> dict[str, Any]:
        path = f"/_mock/accounts/{app_id}/followers/{openid}/actions"
        answer = await self.client.post(path, json={"action": action, **extra})
        assert answer.status == 200, await answer.text()
        return dict(await answer.json())

    async def menu(self, app_id: str, *keys: str) -> None:
        """A menu of click buttons with these keys (a `click` action names one of them)."""
        buttons = [{"type": "click", "name": f"b{i}", "key": key} for i, key in enumerate(keys)]
        token = await self.token(app_id)
        answer = await self.call("/cgi-bin/menu/create", token, {"button": buttons})
        assert answer["errcode"] == 0, answer

    async def call(self, path: str, token: str, body: Any = None) -> dict[str, Any]:
        answer = await self.client.post(path, params={"access_token": token}, json=body)
        assert answer.status == 200
        return dict(await answer.json())

    async def sent(self, app_id: str) -> list[dict[str, Any]]:
        answer = await self.client.get(f"/_mock/accounts/{app_id}/sent")
        return list((await answer.json())["sent"])

    async def follower(self, app_id: str, openid: str) -> dict[str, Any]:
        answer = await self.client.get(f"/_mock/accounts/{app_id}/followers/{openid}")
        return dict(await answer.json())


@pytest.fixture
def platform(mock: TestClient[Any, Any], gateway: FakeGateway) -> Platform:
    return Platform(mock, gateway)


def text(openid: str, content: str = "hello") -> dict[str, Any]:
    return {"touser": openid, "msgtype": "text", "text": {"content": content}}
