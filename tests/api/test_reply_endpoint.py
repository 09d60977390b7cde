"""The reply endpoint (SPEC 8), a local receiver: called with the signed payload for what no
rule answered; its answer becomes the reply; garbage, errors and a hang mean `success`
within the budget, the event stored; a retry never calls it again; a concurrent duplicate
gets the same reply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway import settings as settings_mod
from tests import wx
from tests.api import replyhelp as rh

Client = rh.Client
ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def settings(settings: settings_mod.Settings) -> settings_mod.Settings:
    return settings.model_copy(update={"webhook_allow_private": True})


async def _receiver(
    client: Client, aiohttp_server: ServerFactory, respond: Callable[[int], web.StreamResponse]
) -> rh.Receiver:
    receiver = rh.Receiver(respond)
    server = await aiohttp_server(receiver.app(), host="127.0.0.1")
    await rh.add_endpoint(client, str(server.make_url("/reply")), receiver)
    return receiver


def now() -> int:
    return int(time.time())


async def stored(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT dedupe_key, reply_xml FROM inbound_events"))


async def test_the_endpoint_answers_what_no_rule_answered(
    client: Client, aiohttp_server: ServerFactory, pool: asyncpg.Pool
) -> None:
    await rh.account(client, "safe")
    await rh.put_rules(client, [rh.rule("hours", {"on": "text", "keyword": "hours"})])
    receiver = await _receiver(
        client, aiohttp_server, lambda n: rh.json_reply(rh.text_reply(f"endpoint {n}"))
    )
    by_rule = await rh.post(client, wx.text("hours", create_time=now()), "safe")
    assert by_rule.fields("safe")["Content"] == "hours"  # type: ignore[index]
    assert receiver.bodies == []  # a rule answered: the endpoint is not called
    send = await rh.post_same(client, wx.text("where is it", create_time=now()), "safe")
    first = await send()
    assert first.fields("safe")["Content"] == "endpoint 1"  # type: ignore[index]
    [payload] = receiver.bodies
    assert payload["type"] == "message.text" and payload["account_id"] == "acme"
    assert payload["data"]["content"] == "where is it" and payload["id"].startswith("evt_r")
    retry = await send()  # WeChat's retry: the stored reply, no second call
    assert retry.fields("safe")["Content"] == "endpoint 1"  # type: ignore[index]
    assert len(receiver.bodies) == 1
    subscribe = await rh.post(client, wx.event("subscribe", "", create_time=now()), "safe")
    assert subscribe.fields("safe")["Content"] == "endpoint 2"  # type: ignore[index]
    unsubscribe = await rh.post(client, wx.event("unsubscribe", create_time=now() + 1), "safe")
    assert unsubscribe.body == "success" and len(receiver.bodies) == 2  # never asked
    assert len(await stored(pool)) == 4


GARBAGE = [
    lambda n: web.Response(text="not json"),
    lambda n: web.json_response({"answer": "no reply key"}),
    lambda n: web.json_response({"reply": {"msgtype": "text", "text": {"content": ""}}}),
    lambda n: web.json_response({"reply": {"msgtype": "mpnews", "mpnews": {"media_id": "x"}}}),
    lambda n: rh.json_reply(
        {"msgtype": "news", "news": {"articles": [{"title": "a"}, {"title": "b"}]}}
    ),  # two articles to a user message
    lambda n: web.json_response({"reply": rh.text_reply("x")}, status=201),
    lambda n: web.json_response({"reply": rh.text_reply("x")}, status=500),
    lambda n: web.Response(body=b'{"reply": ' + b" " * 70_000 + b"}"),
]


@pytest.mark.parametrize("respond", GARBAGE)
async def test_garbage_means_success_and_the_event_stored(
    client: Client, aiohttp_server: ServerFactory, pool: asyncpg.Pool, respond: Any
) -> None:
    await rh.account(client)
    receiver = await _receiver(client, aiohttp_server, respond)
    answer = await rh.post(client, wx.text("hello", create_time=now()))
    assert answer.status == 200 and answer.body == "success"
    assert len(receiver.bodies) == 1
    [row] = await stored(pool)
    assert row["reply_xml"] is None


async def test_a_hanging_endpoint_is_given_up_within_the_budget(
    client: Client, aiohttp_server: ServerFactory, pool: asyncpg.Pool
) -> None:
    await rh.account(client)
    receiver = await _receiver(client, aiohttp_server, lambda n: web.Response(status=599))
    started = time.monotonic()
    try:
        answer = await rh.post(client, wx.text("hello", create_time=now()))
    finally:
        receiver.hang.set()
    elapsed = time.monotonic() - started
    assert answer.status == 200 and answer.body == "success"
    assert 2.0 < elapsed < 4.5  # WXGATE_REPLY_TIMEOUT is 2.5 s
    assert len(await stored(pool)) == 1


async def test_an_unreachable_endpoint_means_success(client: Client, pool: asyncpg.Pool) -> None:
    await rh.account(client)
    receiver = rh.Receiver(lambda n: web.Response())
    await rh.add_endpoint(client, "http://127.0.0.1:9/reply", receiver)  # discard port
    answer = await rh.post(client, wx.text("hello", create_time=now()))
    assert answer.status == 200 and answer.body == "success"
    assert len(await stored(pool)) == 1


async def test_a_concurrent_duplicate_gets_the_same_reply(
    client: Client, aiohttp_server: ServerFactory, pool: asyncpg.Pool
) -> None:
    await rh.account(client)
    gate = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        n = len(receiver.bodies) + 1
        receiver.bodies.append(await request.json())
        if n == 2:
            gate.set()
        await gate.wait()  # both calls are in flight before either is answered
        return rh.json_reply(rh.text_reply(f"call {n}"))

    receiver = rh.Receiver(lambda n: web.Response())
    app = web.Application()
    app.router.add_post("/reply", slow)
    server = await aiohttp_server(app, host="127.0.0.1")
    await rh.add_endpoint(client, str(server.make_url("/reply")), receiver)
    send = await rh.post_same(client, wx.text("hello", create_time=now()))
    one, two = await asyncio.gather(send(), send())
    assert len(receiver.bodies) == 2  # neither was stored when both asked
    assert one.fields() is not None and one.fields() == two.fields()
    [row] = await stored(pool)
    assert one.fields()["Content"] in row["reply_xml"]  # type: ignore[index]
