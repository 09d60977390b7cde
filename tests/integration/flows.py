"""The whole product on loopback for end-to-end flows: the gateway (HTTP API, callbacks,
OAuth, pay notifications, event pages) and the mock platform on real sockets, pushing to
each other; a worker the test drives with a clock it moves; a browser that follows the
OAuth redirects as a given follower."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import html.parser
import socket
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import asyncpg
import pydantic
from aiohttp import web

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.mock import app as mock_app
from gateway.wechat import client as wx
from scheduler import worker as worker_mod
from tests.integration import sched_helpers as h

TOKEN = "flow-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclasses.dataclass
class Stack:
    gateway: str
    mock: h.Mock
    session: aiohttp.ClientSession
    worker: worker_mod.Worker
    clock: h.Clock
    pool: asyncpg.Pool

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(
            method, self.gateway + path, json=body, headers=AUTH
        ) as resp:
            return resp.status, await resp.json()

    async def mock_json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(method, self.mock.base + path, json=body) as resp:
            return resp.status, await resp.json()

    async def act(self, app_id: str, openid: str, action: str, **extra: Any) -> dict[str, Any]:
        path = f"/_mock/accounts/{app_id}/followers/{openid}/actions"
        status, answer = await self.mock_json("POST", path, {"action": action, **extra})
        assert status == 200, answer
        result: dict[str, Any] = answer
        return result

    async def account(self, account_id: str, kind: str, app_id: str, **extra: Any) -> None:
        """Create the account in the gateway and register it with the mock, with the
        gateway's callback and pay-notify URLs."""
        body = {
            "id": account_id,
            "kind": kind,
            "app_id": app_id,
            "app_secret": "secret-" + account_id,
            "token": "tok3n",
            **extra,
        }
        status, answer = await self.api("POST", "/api/v1/accounts", body)
        assert status == 201, answer
        mock_body = {
            "app_id": app_id,
            "app_secret": "secret-" + account_id,
            "kind": kind,
            "token": "tok3n",
            "callback_url": f"{self.gateway}/wechat/{account_id}",
            "pay_notify_url": f"{self.gateway}/wechat/{account_id}/pay/notify",
        }
        status, answer = await self.mock_json("POST", "/_mock/accounts", mock_body)
        assert status == 201, answer

    async def browse(self, url: str, openid: str) -> tuple[int, str, str]:
        """GET `url` as follower `openid`, following redirects (the mock's consent page is
        told who consents); returns (status, body, final URL)."""
        for _ in range(10):
            parts = urllib.parse.urlsplit(url)
            if parts.path.endswith("/connect/oauth2/authorize"):
                query = [*urllib.parse.parse_qsl(parts.query), ("openid", openid)]
                url = urllib.parse.urlunsplit(
                    parts._replace(query=urllib.parse.urlencode(query), fragment="")
                )
            async with self.session.get(url, allow_redirects=False) as resp:
                if resp.status in (301, 302, 303, 307):
                    url = urllib.parse.urljoin(url, resp.headers["Location"])
                    continue
                return resp.status, await resp.text(), url
        raise AssertionError("too many redirects")

    async def post_form(self, url: str, fields: dict[str, str]) -> tuple[int, str]:
        async with self.session.post(url, data=fields, allow_redirects=False) as resp:
            return resp.status, await resp.text()

    async def sent(self, app_id: str, path: str) -> list[dict[str, Any]]:
        """The mock's sent log of one API path."""
        status, answer = await self.mock_json("GET", f"/_mock/accounts/{app_id}/sent")
        assert status == 200
        return [r for r in answer["sent"] if r["path"] == path]

    async def wait_sent(self, app_id: str, path: str, count: int) -> list[dict[str, Any]]:
        """The sent log once it holds `count` records of `path` (bounded wait)."""
        async with asyncio.timeout(10):
            while True:
                records = await self.sent(app_id, path)
                if len(records) >= count:
                    return records
                await asyncio.sleep(0.01)

    async def drain(self) -> int:
        return await self.worker.drain(timeout=20)


class FormFields(html.parser.HTMLParser):
    """The named inputs of a page's form (hidden fields included)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action") or ""
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def form_of(page: str) -> FormFields:
    parser = FormFields()
    parser.feed(page)
    return parser


@asynccontextmanager
async def _serve_on(app: web.Application, sock: socket.socket) -> AsyncIterator[None]:
    runner = web.AppRunner(app, handler_cancellation=False, access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield
    finally:
        await runner.cleanup()


@asynccontextmanager
async def stack(
    db_url: str, pool: asyncpg.Pool, clock: h.Clock | None = None, call_timeout: float = 5.0
) -> AsyncIterator[Stack]:
    """The worker runs on `clock` (tests move it); the gateway and the platform keep real
    time: the gateway refuses callbacks and pay notifications whose timestamps are far from
    its own clock. The gateway's socket is bound first: its public URL must be known before
    it starts."""
    clock = clock or h.Clock()
    mock = mock_app.create_mock_app(callback_timeout=3.0, job_finish_delay=0.01)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    gateway_base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # A browser keeps cookies of an IP host (the OAuth binding); aiohttp does only if unsafe.
    jar = aiohttp.CookieJar(unsafe=True)
    async with h.serve(mock) as mock_base, aiohttp.ClientSession(cookie_jar=jar) as session:
        settings = settings_mod.Settings(
            database_url=db_url,
            api_token=pydantic.SecretStr(TOKEN),
            wechat_api_base=mock_base,
            wechat_oauth_base=mock_base,
            public_url=gateway_base,
        )
        async with _serve_on(app_mod.create_app(settings), sock):
            client = wx.WeChatClient(session, mock_base, timeout=call_timeout)
            worker = worker_mod.Worker(
                settings, pool, client, worker_id="flow", clock=clock, options=h.FAST
            )
            yield Stack(gateway_base, h.Mock(mock_base, session), session, worker, clock, pool)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
