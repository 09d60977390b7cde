"""The callback endpoints over HTTP, with requests signed and encrypted as WeChat does."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import time
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.wechat import crypto, signature
from tests import wx

Client = TestClient[web.Request, web.Application]
NOW = int(time.time())


@pytest.fixture(autouse=True)
async def account(pool: asyncpg.Pool) -> None:
    await wx.insert_account(pool, "acme", aes=True)
    await wx.insert_account(pool, "news", kind="subscription", app_id="wx00000000000000aa")


async def post(client: Client, fields: dict[str, Any], account: str = "acme", **kw: Any) -> Any:
    query, body = wx.callback(fields, **kw)
    return await client.post(f"/wechat/{account}", params=query, data=body)


async def events(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM inbound_events"))


async def follower(pool: asyncpg.Pool, openid: str = wx.OPENID) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM followers WHERE openid = $1", openid)
    assert row is not None
    return row


# -- server verification ---------------------------------------------------------------


async def test_get_answers_echostr_verbatim(client: Client) -> None:
    query = wx.signed_query()
    query["echostr"] = "4375120948345356249"
    resp = await client.get("/wechat/acme", params=query)
    assert resp.status == 200
    assert await resp.text() == "4375120948345356249"


async def test_get_with_documented_vector(client: Client, pool: asyncpg.Pool) -> None:
    await pool.execute("UPDATE accounts SET token = 'AAAAA' WHERE id = 'acme'")
    query = {
        "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
        "timestamp": "1714036504",
        "nonce": "1514711492",
        "echostr": "4375120948345356249",
    }
    resp = await client.get("/wechat/acme", params=query)
    assert (resp.status, await resp.text()) == (200, "4375120948345356249")


async def test_get_with_bad_signature_is_403(client: Client) -> None:
    query = wx.signed_query(token="other")
    query["echostr"] = "x"
    resp = await client.get("/wechat/acme", params=query)
    assert resp.status == 403
    assert "x" not in await resp.text()


async def test_unknown_account_is_404(client: Client, pool: asyncpg.Pool) -> None:
    resp = await post(client, wx.text(create_time=NOW), account="nobody")
    assert resp.status == 404
    resp = await client.get("/wechat/nobody", params=wx.signed_query())
    assert resp.status == 404
    assert await events(pool) == 0


# -- messages and events change the follower --------------------------------------------


async def test_text_message_opens_the_48_hour_window(client: Client, pool: asyncpg.Pool) -> None:
    resp = await post(client, wx.text(create_time=NOW - 10))
    assert (resp.status, await resp.text()) == (200, "success")
    f = await follower(pool)
    created = dt.datetime.fromtimestamp(NOW - 10, dt.UTC)
    assert f["subscribed"] is True
    assert f["window_ends_at"] == created + dt.timedelta(hours=48)
    assert f["last_interaction"] == "message"
    assert await events(pool) == 1


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
async def test_every_mode_is_stored(client: Client, pool: asyncpg.Pool, mode: str) -> None:
    resp = await post(client, wx.text("加密", create_time=NOW), mode=mode)
    assert (resp.status, await resp.text()) == (200, "success")
    row = await pool.fetchrow("SELECT fields FROM inbound_events")
    assert row is not None and row["fields"]["Content"] == "加密"


async def test_future_create_time_is_clamped_to_receipt(client: Client, pool: asyncpg.Pool) -> None:
    before = dt.datetime.now(dt.UTC)
    await post(client, wx.text(create_time=NOW + 86400))
    f = await follower(pool)
    assert f["window_ends_at"] <= dt.datetime.now(dt.UTC) + dt.timedelta(hours=48)
    assert f["window_ends_at"] >= before + dt.timedelta(hours=48) - dt.timedelta(seconds=1)


async def test_subscribe_with_qr_scene_then_scan(client: Client, pool: asyncpg.Pool) -> None:
    await post(client, wx.event("subscribe", "qrscene_spring", create_time=NOW, Ticket="T"))
    f = await follower(pool)
    assert f["subscribed"] is True
    assert (f["first_qr_scene"], f["latest_qr_scene"]) == ("spring", "spring")
    assert f["last_interaction"] == "qr_scan"
    await post(client, wx.event("SCAN", "autumn", create_time=NOW + 1, Ticket="T"))
    f = await follower(pool)
    assert (f["first_qr_scene"], f["latest_qr_scene"]) == ("spring", "autumn")


async def test_unsubscribe_then_resubscribe(client: Client, pool: asyncpg.Pool) -> None:
    await post(client, wx.event("subscribe", "", create_time=NOW - 5))
    await post(client, wx.event("unsubscribe", "", create_time=NOW - 4))
    f = await follower(pool)
    assert f["subscribed"] is False and f["unsubscribed_at"] is not None
    await post(client, wx.event("subscribe", "", create_time=NOW - 3))
    assert (await follower(pool))["subscribed"] is True


@pytest.mark.parametrize(
    "fields",
    [
        wx.event("LOCATION", create_time=NOW, Latitude="23.1", Longitude="113.3", Precision="119"),
        wx.event("VIEW", "https://example.com", create_time=NOW, MenuId="1"),
    ],
    ids=["LOCATION", "VIEW"],
)
async def test_location_and_view_do_not_open_the_window(
    client: Client, pool: asyncpg.Pool, fields: dict[str, Any]
) -> None:
    resp = await post(client, fields)
    assert resp.status == 200
    f = await follower(pool)
    assert f["window_ends_at"] is None
    assert await events(pool) == 1


async def test_click_opens_the_window_under_wechat_2023_with_three_messages(
    client: Client, pool: asyncpg.Pool
) -> None:
    await pool.execute("UPDATE accounts SET rule_profile = 'wechat-2023' WHERE id = 'news'")
    await post(client, wx.event("CLICK", "menu1", create_time=NOW), account="news")
    f = await follower(pool)
    assert f["window_remaining"] == 3
    assert f["window_ends_at"] == dt.datetime.fromtimestamp(NOW + 60, dt.UTC)


async def test_unknown_event_is_stored_raw(client: Client, pool: asyncpg.Pool) -> None:
    resp = await post(client, wx.event("brand_new_event", create_time=NOW, Extra="x"))
    assert resp.status == 200
    row = await pool.fetchrow("SELECT event, fields FROM inbound_events")
    assert row is not None and row["event"] == "brand_new_event" and row["fields"]["Extra"] == "x"


# -- retries ---------------------------------------------------------------------------


async def test_retry_is_success_and_changes_nothing(client: Client, pool: asyncpg.Pool) -> None:
    fields = wx.text(create_time=NOW - 100)
    await post(client, fields)
    before = await follower(pool)
    resp = await post(client, fields)
    assert (resp.status, await resp.text()) == (200, "success")
    assert await events(pool) == 1
    assert dict(await follower(pool)) == dict(before)


async def test_concurrent_identical_retries_store_one_event(
    client: Client, pool: asyncpg.Pool
) -> None:
    fields = wx.event("subscribe", "qrscene_7", create_time=NOW, Ticket="T")
    answers = await asyncio.gather(*(post(client, fields) for _ in range(20)))
    assert [r.status for r in answers] == [200] * 20
    assert await events(pool) == 1


async def test_many_followers_in_concurrent_batches(client: Client, pool: asyncpg.Pool) -> None:
    openids = [f"o{i:027d}" for i in range(200)]
    answers = await asyncio.gather(
        *(post(client, wx.text(openid=o, create_time=NOW)) for o in openids)
    )
    assert {r.status for r in answers} == {200}
    assert await events(pool) == 200
    assert await pool.fetchval("SELECT count(*) FROM followers WHERE window_ends_at > now()") == 200


# -- wake-ups ---------------------------------------------------------------------------


async def held_delivery(pool: asyncpg.Pool) -> None:
    """A customer-service message held until the follower interacts."""
    message_id = await pool.fetchval(
        "INSERT INTO messages (account_id, type, recipient, content, status, expires_at)"
        " VALUES ('acme', 'customer_service', $1, '{}', 'held', now() + interval '1 day')"
        " RETURNING id",
        wx.OPENID,
    )
    await pool.execute(
        "INSERT INTO deliveries (account_id, message_id, openid, status, reason, wait_for)"
        " VALUES ('acme', $1, $2, 'held', 'window_closed', 'interaction')",
        message_id,
        wx.OPENID,
    )


async def test_interaction_wakes_held_deliveries_and_notifies(
    client: Client, pool: asyncpg.Pool, db_url: str
) -> None:
    await pool.execute(
        "INSERT INTO followers (account_id, openid, subscribed) VALUES ('acme', $1, true)",
        wx.OPENID,
    )
    await held_delivery(pool)
    listener = await asyncpg.connect(db_url)
    notified: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("wxgate_release", lambda *args: notified.put_nowait(args[3]))
    try:
        await post(client, wx.text(create_time=NOW))
        assert await asyncio.wait_for(notified.get(), 5) == "acme"
    finally:
        await listener.close()
    release_at = await pool.fetchval("SELECT release_at FROM deliveries")
    assert release_at is not None and release_at <= dt.datetime.now(dt.UTC)


async def test_location_does_not_wake_held_deliveries(client: Client, pool: asyncpg.Pool) -> None:
    await held_delivery(pool)
    await post(
        client, wx.event("LOCATION", create_time=NOW, Latitude="1", Longitude="2", Precision="3")
    )
    assert await pool.fetchval("SELECT release_at FROM deliveries") is None


# -- bad input: a clear 4xx and nothing stored ------------------------------------------


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>a</ToUserName><FromUserName>&lol3;</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<xml><ToUserName>", 400),
        (b"not xml at all", 400),
        (b"", 400),
        (BILLION_LAUGHS, 400),
        (XXE, 400),
        (b"<xml><ToUserName>a</ToUserName><MsgType>text</MsgType></xml>", 400),
        (b"<root><a>1</a></root>", 400),
        (b"<xml>" + b"<Content>" + b"x" * (70 * 1024) + b"</Content></xml>", 413),
    ],
    ids=[
        "truncated",
        "text",
        "empty",
        "billion-laughs",
        "xxe",
        "missing-fields",
        "wrong-root",
        "too-large",
    ],
)
async def test_bad_bodies_are_refused_and_nothing_is_stored(
    client: Client, pool: asyncpg.Pool, body: bytes, status: int
) -> None:
    resp = await client.post("/wechat/acme", params=wx.signed_query(), data=body)
    assert resp.status == status
    assert await events(pool) == 0
    assert await pool.fetchval("SELECT count(*) FROM followers") == 0
    ok = await post(client, wx.text(create_time=NOW))  # the process stays healthy
    assert ok.status == 200


async def test_ten_megabyte_body_is_413(client: Client, pool: asyncpg.Pool) -> None:
    resp = await client.post(
        "/wechat/acme", params=wx.signed_query(), data=io.BytesIO(b"x" * (10 * 1024 * 1024))
    )
    assert resp.status == 413
    assert await events(pool) == 0


async def test_forged_signature_is_403(client: Client, pool: asyncpg.Pool) -> None:
    query, body = wx.callback(wx.text(create_time=NOW), token="forged")
    resp = await client.post("/wechat/acme", params=query, data=body)
    assert resp.status == 403
    query, body = wx.callback(wx.text(create_time=NOW))
    query["signature"] = "0" * 40
    assert (await client.post("/wechat/acme", params=query, data=body)).status == 403
    assert await events(pool) == 0


async def test_tampered_ciphertext_fails_msg_signature(client: Client, pool: asyncpg.Pool) -> None:
    query, body = wx.callback(wx.text(create_time=NOW), mode="safe")
    resp = await client.post(
        "/wechat/acme",
        params=query,
        data=body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA"),
    )
    assert resp.status == 403
    assert await events(pool) == 0


async def test_ciphertext_for_another_appid_is_403(client: Client, pool: asyncpg.Pool) -> None:
    query, body = wx.callback(wx.text(create_time=NOW), mode="safe", app_id="wxffffffffffffffff")
    resp = await client.post("/wechat/acme", params=query, data=body)
    assert resp.status == 403
    assert await events(pool) == 0


async def test_bad_padding_with_valid_msg_signature_is_403(
    client: Client, pool: asyncpg.Pool
) -> None:
    # A correctly signed ciphertext that is not a valid WeChat plaintext (random blocks).
    encrypt = "A" * 64
    query = wx.signed_query()
    query["encrypt_type"] = "aes"
    query["msg_signature"] = signature.sign(wx.TOKEN, query["timestamp"], query["nonce"], encrypt)
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
    resp = await client.post("/wechat/acme", params=query, data=body.encode())
    assert resp.status == 403
    assert await events(pool) == 0


async def test_previous_aes_key_still_decrypts_after_rotation(
    client: Client, pool: asyncpg.Pool
) -> None:
    new_key = "Z" * 43
    await pool.execute(
        "UPDATE accounts SET previous_aes_key = encoding_aes_key, encoding_aes_key = $1,"
        " aes_key_rotated_at = now() - interval '71 hours 59 minutes' WHERE id = 'acme'",
        new_key,
    )
    resp = await post(client, wx.text(create_time=NOW), mode="safe")  # encrypted with the old key
    assert resp.status == 200
    crypto.MessageCrypto(wx.TOKEN, new_key, "wx0123456789abcdef")  # the new key is valid
    assert await events(pool) == 1


@pytest.mark.parametrize("rotated_at", ["now() - interval '72 hours 1 minute'", "NULL"])
async def test_previous_aes_key_is_refused_after_the_grace_period(
    client: Client, pool: asyncpg.Pool, rotated_at: str
) -> None:
    # 72 hours after the rotation (or at an unknown time) the old key decrypts nothing.
    await pool.execute(
        "UPDATE accounts SET previous_aes_key = encoding_aes_key, encoding_aes_key = $1,"
        f" aes_key_rotated_at = {rotated_at} WHERE id = 'acme'",
        "Z" * 43,
    )
    resp = await post(client, wx.text(create_time=NOW), mode="safe")  # encrypted with the old key
    assert resp.status == 403
    assert await resp.text() == "message could not be decrypted for this account"
    assert await events(pool) == 0


async def test_encrypted_callback_to_account_without_key_is_400(
    client: Client, pool: asyncpg.Pool
) -> None:
    resp = await post(
        client, wx.text(create_time=NOW), account="news", mode="safe", app_id="wx00000000000000aa"
    )
    assert resp.status == 400
    assert await events(pool) == 0


async def test_template_job_finish_marks_the_sent_message_delivered(
    client: Client, pool: asyncpg.Pool
) -> None:
    message_id = await pool.fetchval(
        "INSERT INTO messages (account_id, type, recipient, template, status, expires_at,"
        " wechat_msgid) VALUES ('acme', 'template', $1, '{}', 'sent',"
        " now() + interval '1 day', '200163836') RETURNING id",
        wx.OPENID,
    )
    await pool.execute(
        "INSERT INTO deliveries (account_id, message_id, openid, status, channel, wechat_msgid)"
        " VALUES ('acme', $1, $2, 'sent', 'template', '200163836')",
        message_id,
        wx.OPENID,
    )
    finish = wx.event("TEMPLATESENDJOBFINISH", create_time=NOW, MsgID=200163836, Status="success")
    resp = await post(client, finish)
    assert (resp.status, await resp.text()) == (200, "success")
    assert await pool.fetchval("SELECT status FROM deliveries") == "delivered"
    assert await pool.fetchval("SELECT status FROM messages") == "delivered"
    assert await pool.fetchval("SELECT count(*) FROM followers") == 0  # not a follower event
