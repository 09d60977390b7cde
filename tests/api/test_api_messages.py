"""`POST/GET /api/v1/accounts/{id}/messages`: enqueue of each type, deliveries, capability
checks, validation, idempotency, history and keyset listing."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
from typing import Any

import asyncpg
import pytest

from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH

URL = "/api/v1/accounts/{}/messages"


def later(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(**delta)).isoformat()


@pytest.fixture
async def accounts(client: Client) -> None:
    await apihelp.create_account(client, "acme", kind="service")
    await apihelp.create_account(client, "news", kind="subscription")


def mass(audience: dict[str, Any], content: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "mass",
        "audience": audience,
        "content": content or {"msgtype": "mpnews", "mpnews": {"media_id": "m-1"}},
    }


TEMPLATE: dict[str, Any] = {
    "type": "template",
    "to": apihelp.openid(1),
    "template": {
        "template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
        "data": {"thing1": {"value": "巧克力"}, "amount2": {"value": "39.8元"}},
        "url": "https://shop.example.com/o/1",
        "miniprogram": {"appid": "wxmini", "pagepath": "index?foo=bar"},
    },
}


@pytest.mark.usefixtures("accounts")
async def test_customer_service_enqueue(client: Client, pool: asyncpg.Pool, db_url: str) -> None:
    listener = await asyncpg.connect(db_url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("wxgate_release", lambda *args: heard.put_nowait(args[3]))
    try:
        msg = await apihelp.enqueue(client, "acme", apihelp.text_message(content="你好"))
        assert await asyncio.wait_for(heard.get(), timeout=5) == "acme"
    finally:
        await listener.close()
    assert msg["status"] == "queued" and msg["type"] == "customer_service"
    assert msg["to"] == apihelp.openid(1)
    assert msg["content"] == {"msgtype": "text", "text": {"content": "你好"}}
    assert msg["outside_window"] == "hold"
    assert msg["recipients"] is None
    assert [h["status"] for h in msg["history"]] == ["queued"]
    created = dt.datetime.fromisoformat(msg["created_at"])
    expires = dt.datetime.fromisoformat(msg["expires_at"])
    assert (
        dt.timedelta(days=7) - dt.timedelta(seconds=5)
        < expires - created
        < dt.timedelta(days=7, seconds=5)
    )
    rows = await pool.fetch("SELECT * FROM deliveries")
    assert len(rows) == 1
    assert rows[0]["openid"] == apihelp.openid(1) and rows[0]["status"] == "queued"
    assert rows[0]["wait_for"] is None and rows[0]["release_at"] is not None
    assert await pool.fetchval("SELECT recipients_total FROM messages") == 1


@pytest.mark.usefixtures("accounts")
async def test_not_before_sets_release_and_default_expiry(
    client: Client, pool: asyncpg.Pool
) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
    body = apihelp.text_message(
        not_before=start.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()
    )
    msg = await apihelp.enqueue(client, "acme", body)
    assert dt.datetime.fromisoformat(msg["not_before"]) == start
    assert dt.datetime.fromisoformat(msg["release_at"]) == start
    assert dt.datetime.fromisoformat(msg["expires_at"]) == start + dt.timedelta(days=7)
    assert await pool.fetchval("SELECT release_at FROM deliveries") == start


@pytest.mark.usefixtures("accounts")
async def test_template_on_service(client: Client, pool: asyncpg.Pool) -> None:
    msg = await apihelp.enqueue(client, "acme", TEMPLATE)
    assert msg["template"] == TEMPLATE["template"]
    assert msg["content"] is None
    assert await pool.fetchval("SELECT openid FROM deliveries") == apihelp.openid(1)


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (TEMPLATE, "cannot send template messages"),
        (mass({"openids": ["o-1", "o-2"]}), "cannot send mass messages to a list of openids"),
        (apihelp.text_message(outside_window="reach"), "outside the 48-hour"),
    ],
)
async def test_subscription_capabilities_are_refused(
    client: Client, pool: asyncpg.Pool, body: dict[str, Any], rule: str
) -> None:
    resp = await client.post(URL.format("news"), json=body, headers=AUTH)
    err = await apihelp.error(resp, 403, "capability_not_available")
    assert rule in err["message"]
    assert "upgrade the account to a service account" in err["message"]
    assert await pool.fetchval("SELECT count(*) FROM messages") == 0


@pytest.mark.usefixtures("accounts")
async def test_reach_on_service_is_queued(client: Client) -> None:
    msg = await apihelp.enqueue(client, "acme", apihelp.text_message(outside_window="reach"))
    assert msg["outside_window"] == "reach"


@pytest.mark.usefixtures("accounts")
async def test_mass_openids_one_delivery_each(client: Client, pool: asyncpg.Pool) -> None:
    ids = [apihelp.openid(n) for n in range(3)]
    msg = await apihelp.enqueue(client, "acme", mass({"openids": ids}))
    assert msg["recipients"] == {
        "total": 3, "queued": 3, "held": 0, "sending": 0, "sent": 0,
        "delivered": 0, "failed": 0, "expired": 0, "canceled": 0,
    }  # fmt: skip
    rows = await pool.fetch("SELECT openid FROM deliveries ORDER BY openid")
    assert [r["openid"] for r in rows] == ids
    single = await apihelp.enqueue(client, "acme", mass({"openids": [ids[0]]}))
    assert single["recipients"]["total"] == 1


@pytest.mark.usefixtures("accounts")
async def test_service_all_fans_out_to_subscribed_followers(
    client: Client, pool: asyncpg.Pool
) -> None:
    for n in range(4):
        await apihelp.add_follower(pool, "acme", apihelp.openid(n), subscribed=n != 2)
    await apihelp.add_follower(pool, "news", apihelp.openid(9))
    msg = await apihelp.enqueue(client, "acme", mass({"all": True}))
    assert msg["recipients"]["total"] == 3 and msg["audience"] == {"all": True}
    assert msg["recipients"]["queued"] == 3
    # Batched: the worker expands the audience into mass_batches (issue 19), no deliveries.
    assert await pool.fetchval("SELECT count(*) FROM deliveries") == 0
    assert await pool.fetchval("SELECT batched FROM messages WHERE id = $1", msg["id"])


@pytest.mark.usefixtures("accounts")
async def test_service_all_with_nobody_fails_at_once(client: Client) -> None:
    msg = await apihelp.enqueue(client, "acme", mass({"all": True}))
    assert msg["status"] == "failed"
    assert msg["errmsg"] == "the audience has no subscribed followers"
    assert [h["status"] for h in msg["history"]] == ["queued", "failed"]


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(
    ("account", "audience"),
    [("news", {"all": True}), ("news", {"tag_id": 2}), ("acme", {"tag_id": 0})],
)
async def test_account_level_mass_is_one_sendall_delivery(
    client: Client, pool: asyncpg.Pool, account: str, audience: dict[str, Any]
) -> None:
    await apihelp.add_follower(pool, account, apihelp.openid(1))
    content = {"msgtype": "text", "text": {"content": "daily news"}}
    msg = await apihelp.enqueue(client, account, mass(audience, content))
    assert msg["recipients"]["total"] == 1
    assert await pool.fetchval("SELECT openid FROM deliveries") is None


CS_CONTENT = [
    {"msgtype": "text", "text": {"content": "a" * 2048}},
    {"msgtype": "text", "text": {"content": "中" * 682}},
    {"msgtype": "image", "image": {"media_id": "MEDIA_ID"}},
    {"msgtype": "voice", "voice": {"media_id": "MEDIA_ID"}},
    {"msgtype": "video", "video": {"media_id": "M", "thumb_media_id": "T", "title": "t"}},
    {
        "msgtype": "music",
        "music": {"musicurl": "https://m", "hqmusicurl": "https://h", "thumb_media_id": "T"},
    },
    {"msgtype": "news", "news": {"articles": [{"title": "t", "url": "https://a", "picurl": "p"}]}},
    {"msgtype": "mpnews", "mpnews": {"media_id": "MEDIA_ID"}},
    {
        "msgtype": "msgmenu",
        "msgmenu": {"head_content": "?", "list": [{"id": "101", "content": "yes"}]},
    },
    {"msgtype": "wxcard", "wxcard": {"card_id": "CARD"}},
    {
        "msgtype": "miniprogrampage",
        "miniprogrampage": {"title": "t", "appid": "wxa", "pagepath": "p", "thumb_media_id": "T"},
    },
]
MASS_CONTENT = [
    {"msgtype": "text", "text": {"content": "hello"}},
    {"msgtype": "mpnews", "mpnews": {"media_id": "M"}},
    {"msgtype": "voice", "voice": {"media_id": "M"}},
    {"msgtype": "image", "image": {"media_id": "M"}},
    {"msgtype": "mpvideo", "mpvideo": {"media_id": "M", "title": "t"}},
    {"msgtype": "wxcard", "wxcard": {"card_id": "C"}},
]


@pytest.mark.usefixtures("accounts")
async def test_every_content_type_is_accepted(client: Client, pool: asyncpg.Pool) -> None:
    for content in CS_CONTENT:
        msg = await apihelp.enqueue(client, "acme", {**apihelp.text_message(), "content": content})
        assert msg["content"] == content
    for content in MASS_CONTENT:
        msg = await apihelp.enqueue(client, "acme", mass({"tag_id": 1}, content))
        assert msg["content"] == content
    assert await pool.fetchval("SELECT count(*) FROM messages") == 17


OVER_2048_BYTES = "中" * 683  # 683 characters, 2049 bytes


INVALID: list[Any] = [
    apihelp.text_message(extra=1),
    {**apihelp.text_message(), "content": {"msgtype": "text", "text": {"content": ""}}},
    {
        **apihelp.text_message(),
        "content": {"msgtype": "text", "text": {"content": OVER_2048_BYTES}},
    },
    {
        **apihelp.text_message(),
        "content": {"msgtype": "text", "text": {"content": "x", "y": 1}},
    },
    {**apihelp.text_message(), "content": {"msgtype": "text"}},
    {**apihelp.text_message(), "content": {"msgtype": "mpvideo", "mpvideo": {"media_id": "m"}}},
    {
        **apihelp.text_message(),
        "content": {
            "msgtype": "news",
            "news": {"articles": [{"title": "a", "url": "https://a"}] * 2},
        },
    },
    {"type": "customer_service", "content": {"msgtype": "text", "text": {"content": "x"}}},
    {**apihelp.text_message(), "to": "bad openid"},
    apihelp.text_message(not_before="2030-01-01T00:00:00"),
    apihelp.text_message(expires_at="2101-01-01T00:00:00Z"),
    apihelp.text_message(expires_at="2001-01-01T00:00:00Z"),
    apihelp.text_message(not_before=later(days=3), expires_at=later(days=2)),
    apihelp.text_message(not_before="tomorrow"),
    apihelp.text_message(idempotency_key="k" * 256),
    apihelp.text_message(outside_window="always"),
    mass({"openids": ["o-1", "o-1"]}),
    mass({"openids": []}),
    mass({"openids": [apihelp.openid(n) for n in range(10_001)]}),
    mass({"tag_id": -1}),
    mass({"tag_id": True}),
    mass({"tag_id": "2"}),
    mass({"all": False}),
    mass({"all": True, "tag_id": 1}),
    mass({}),
    mass({"all": True}, {"msgtype": "music", "music": {}}),
    {**TEMPLATE, "template": {"template_id": "t", "data": {}}},
    {**TEMPLATE, "template": {**TEMPLATE["template"], "data": {"k": {"val": "x"}}}},
    {**TEMPLATE, "content": {"msgtype": "text", "text": {"content": "x"}}},
    {"type": "fax", "to": "o-1"},
    [],
    "just a string",
]


@pytest.mark.usefixtures("accounts")
async def test_validation_errors(client: Client, pool: asyncpg.Pool) -> None:
    for body in INVALID:
        resp = await client.post(URL.format("acme"), json=body, headers=AUTH)
        assert resp.status == 422, (str(body)[:300], await resp.text())
        err = await apihelp.error(resp, 422, "validation_error")
        assert isinstance(err["details"], list) and err["details"]
        assert {"type", "loc", "msg"} <= set(err["details"][0])
    assert await pool.fetchval("SELECT count(*) FROM messages") == 0


@pytest.mark.usefixtures("accounts")
async def test_unknown_account_is_not_found(client: Client) -> None:
    resp = await client.post(URL.format("ghost"), json=apihelp.text_message(), headers=AUTH)
    await apihelp.error(resp, 404, "not_found")


@pytest.mark.usefixtures("accounts")
async def test_sql_metacharacters_in_content_are_verbatim(
    client: Client, pool: asyncpg.Pool
) -> None:
    evil = 'Robert\'); DROP TABLE messages;-- $1 \\x00 %s {{.}} <a href="x">'
    msg = await apihelp.enqueue(client, "acme", apihelp.text_message(content=evil))
    assert msg["content"]["text"]["content"] == evil
    stored = await pool.fetchval("SELECT content FROM messages")
    assert stored["text"]["content"] == evil


@pytest.mark.usefixtures("accounts")
async def test_ten_thousand_openids_fit_but_a_megabyte_does_not(
    client: Client, pool: asyncpg.Pool
) -> None:
    ids = [apihelp.openid(n) for n in range(10_000)]
    body = mass({"openids": ids})
    assert len(json.dumps(body)) > 300_000
    msg = await apihelp.enqueue(client, "acme", body)
    assert msg["recipients"]["total"] == 10_000
    assert await pool.fetchval("SELECT count(*) FROM deliveries") == 10_000

    huge = json.dumps(apihelp.text_message(pad="x" * (1024 * 1024))).encode()
    resp = await client.post(URL.format("acme"), data=io.BytesIO(huge), headers=AUTH)
    await apihelp.error(resp, 413, "payload_too_large")

    async def chunks() -> Any:  # no Content-Length: the cap applies while reading
        for _ in range(20):
            yield b" " * 65536

    resp = await client.post(URL.format("acme"), data=chunks(), headers=AUTH)
    await apihelp.error(resp, 413, "payload_too_large")


def test_other_routes_keep_the_64_kib_limit(client: Client) -> None:
    assert client.app._client_max_size == 64 * 1024
