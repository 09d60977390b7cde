"""A callback's webhook carries in `data.xml` the (decrypted) callback body exactly as it was
received, through a real callback over HTTP: plaintext and AES, both ingest paths (the
seed-profile statement and the general fold)."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.wechat import crypto, xmlcodec
from tests import wx
from tests.api.conftest import API_TOKEN
from tests.webhooks import hooks as h

Client = TestClient[web.Request, web.Application]

# Not the shape the gateway would rebuild: a declaration, line breaks and indentation, plain
# text and CDATA mixed, an entity, a comment, attributes-free element order of the sender.
RAW = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<xml>\n"
    "  <ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>\n"
    "  <FromUserName>{openid}</FromUserName>\n"
    "  <CreateTime>{now}</CreateTime>\n"
    "  <MsgType><![CDATA[text]]></MsgType>\n"
    "  <!-- as sent -->\n"
    "  <Content>caf\u00e9 &amp; \u52a0\u5bc6</Content>\n"
    "  <MsgId>{msg_id}</MsgId>\n"
    "</xml>\n"
)


def raw_body(openid: str, msg_id: int) -> str:
    return RAW.format(openid=openid, now=int(time.time()), msg_id=msg_id)


def request(xml: str, mode: str) -> tuple[dict[str, str], bytes]:
    """(query, body) of a signed callback carrying `xml` itself (encrypted in safe mode)."""
    query = wx.signed_query()
    query["openid"] = wx.OPENID
    if mode == "plain":
        return query, xml.encode()
    cipher = crypto.MessageCrypto(wx.TOKEN, wx.AES_KEY, "wx0123456789abcdef")
    encrypt = cipher.encrypt(xml)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = cipher.msg_signature(query["timestamp"], query["nonce"], encrypt)
    envelope = {"ToUserName": "gh_0123456789ab", "Encrypt": encrypt}
    return query, xmlcodec.build(envelope).encode()


@pytest.mark.parametrize(
    ("mode", "profile"),
    [("plain", "seed"), ("safe", "seed"), ("plain", "wechat-2023"), ("safe", "wechat-2023")],
)
async def test_data_xml_is_the_received_callback_byte_for_byte(
    client: Client,
    pool: asyncpg.Pool,
    db_url: str,
    aiohttp_server: Any,
    mode: str,
    profile: str,
) -> None:
    await wx.insert_account(pool, "acme", aes=True, rule_profile=profile)
    rec = h.Receiver()
    server = await aiohttp_server(rec.app())
    await h.add_endpoint(pool, str(server.make_url("/hook")))
    xml = raw_body(wx.OPENID, 6272960105994200001)
    query, body = request(xml, mode)
    resp = await client.post("/wechat/acme", params=query, data=body)
    assert (resp.status, await resp.text()) == (200, "success")
    async with aiohttp.ClientSession() as session:
        assert await h.dispatcher(h.settings(db_url), pool, session, h.clock()).drain() == 1
    [arrival] = rec.arrivals
    data = json.loads(arrival.body)["data"]
    assert data["xml"].encode() == xml.encode()
    assert data["content"] == "caf\u00e9 & \u52a0\u5bc6"
    # The inbound log gives the same payload as the delivery.
    logged = await client.get(
        "/api/v1/accounts/acme/inbound", headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    assert logged.status == 200
    [item] = (await logged.json())["items"]
    assert item["data"]["xml"] == xml


async def test_rows_stored_before_the_column_get_the_rebuilt_xml(
    pool: asyncpg.Pool, db_url: str, aiohttp_server: Any
) -> None:
    await h.add_account(pool)
    rec = h.Receiver()
    server = await aiohttp_server(rec.app())
    await h.add_endpoint(pool, str(server.make_url("/hook")))
    await h.store(pool, [h.record(1, "oA")])  # a record without the received body
    async with aiohttp.ClientSession() as session:
        assert await h.dispatcher(h.settings(db_url), pool, session, h.clock()).drain() == 1
    data = json.loads(rec.arrivals[0].body)["data"]
    xml = data["xml"]
    assert xml.startswith("<xml>") and xml.endswith("</xml>")
    assert "<ToUserName><![CDATA[gh_1]]></ToUserName>" in xml
    assert "<Content><![CDATA[hello 1]]></Content>" in xml
