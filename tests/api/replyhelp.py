"""Helpers for the passive-reply tests: an account with rules, callbacks posted through the
callback route, answers decrypted with wechatpy, and a local reply endpoint that records
what it was sent."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

import standardwebhooks
from aiohttp import web
from aiohttp.test_utils import TestClient
from lxml import etree
from wechatpy.crypto import WeChatCrypto  # type: ignore[import-untyped]

from tests import wx
from tests.api import apihelp
from tests.api.conftest import AUTH

Client = TestClient[web.Request, web.Application]
APP_ID = "wx00000000000000e1"
ORIGINAL_ID = "gh_0123456789ab"


async def account(client: Client, mode: str = "plaintext") -> None:
    extra: dict[str, Any] = {"app_id": APP_ID, "original_id": ORIGINAL_ID, "encoding_mode": mode}
    if mode != "plaintext":
        extra["encoding_aes_key"] = wx.AES_KEY
    await apihelp.create_account(client, "acme", **extra)


def text_reply(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def rule(name: str, match: dict[str, Any], reply: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "match": match, "reply": reply or text_reply(name)}


async def put_rules(client: Client, rules: list[dict[str, Any]], **extra: Any) -> None:
    resp = await client.put(
        "/api/v1/accounts/acme/reply-rules", json={"rules": rules, **extra}, headers=AUTH
    )
    assert resp.status == 200, await resp.text()


@dataclasses.dataclass
class Answer:
    status: int
    body: str
    query: dict[str, str]

    def fields(self, mode: str = "plain") -> dict[str, Any] | None:
        """The reply as {tag: text} (nested elements as dicts), decrypted by wechatpy when
        the answer is encrypted; None for `success`."""
        if self.body == "success":
            return None
        xml = self.body
        if mode != "plain":
            envelope = etree.fromstring(xml.encode())
            assert envelope.findtext("Nonce") == self.query["nonce"]
            xml = WeChatCrypto(wx.TOKEN, wx.AES_KEY, APP_ID).decrypt_message(
                xml,
                envelope.findtext("MsgSignature"),
                envelope.findtext("TimeStamp"),
                envelope.findtext("Nonce"),
            )
        return to_dict(etree.fromstring(xml.encode() if isinstance(xml, str) else xml))


def to_dict(element: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        if len(child):
            value: Any = to_dict(child)
            if child.tag == "item":
                out.setdefault("items", []).append(value)
                continue
        else:
            value = child.text or ""
        out[str(child.tag)] = value
    return out


async def post(
    client: Client, fields: dict[str, Any], mode: str = "plain", query: dict[str, str] | None = None
) -> Answer:
    """POST one callback (the same `query` and body again make a WeChat retry)."""
    params, body = wx.callback(fields, mode=mode, app_id=APP_ID)
    if query is not None:
        params = query
    resp = await client.post("/wechat/acme", params=params, data=body)
    return Answer(resp.status, await resp.text(), params)


async def post_same(
    client: Client, fields: dict[str, Any], mode: str = "plain"
) -> Callable[[], Awaitable[Answer]]:
    """A (query, body) pair to post more than once, as WeChat's retries do."""
    params, body = wx.callback(fields, mode=mode, app_id=APP_ID)

    async def send() -> Answer:
        resp = await client.post("/wechat/acme", params=params, data=body)
        return Answer(resp.status, await resp.text(), params)

    return send


class Receiver:
    """A reply endpoint on 127.0.0.1: answers with `respond(n)` (n: the request number),
    checks every signature with the standardwebhooks library, keeps the bodies."""

    def __init__(self, respond: Callable[[int], web.StreamResponse]) -> None:
        self.respond = respond
        self.bodies: list[dict[str, Any]] = []
        self.secret = ""
        self.hang = asyncio.Event()  # set: a hanging answer may end (at teardown)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        standardwebhooks.Webhook(self.secret).verify(raw, dict(request.headers))
        self.bodies.append(json.loads(raw))
        answer = self.respond(len(self.bodies))
        if answer.status == 599:  # "hang": no answer until the test ends
            await self.hang.wait()
        return answer

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/reply", self.handle)
        return app


def json_reply(reply: Any) -> web.Response:
    return web.json_response({"reply": reply})


async def add_endpoint(client: Client, url: str, receiver: Receiver) -> None:
    resp = await client.post(
        "/api/v1/accounts/acme/endpoints", json={"url": url, "mode": "reply"}, headers=AUTH
    )
    assert resp.status == 201, await resp.text()
    receiver.secret = (await resp.json())["secret"]
