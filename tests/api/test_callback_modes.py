"""SPEC 2.2: an account's `encoding_mode` decides which callback forms it accepts, and a
callback addressed to another account (`ToUserName`) is refused."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.wechat import xmlcodec
from tests import wx
from tests.api import apihelp
from tests.api.conftest import AUTH

Client = TestClient[web.Request, web.Application]
APP_ID = "wx00000000000000c1"
ORIGINAL_ID = "gh_0123456789ab"


async def create(client: Client, account_id: str = "acme", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"app_id": APP_ID, "original_id": ORIGINAL_ID, **fields}
    return dict(await apihelp.create_account(client, account_id, **body))


async def post(client: Client, fields: dict[str, Any], mode: str, **query: str) -> Any:
    params, body = wx.callback(fields, mode=mode, app_id=APP_ID)
    params.update(query)
    return await client.post("/wechat/acme", params=params, data=body)


async def stored(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM inbound_events"))


def text() -> dict[str, Any]:
    return wx.text(create_time=int(time.time()))


# -- the field ---------------------------------------------------------------------------


async def test_mode_defaults_to_safe_with_a_key_and_plaintext_without(client: Client) -> None:
    keyed = await create(client, encoding_aes_key=apihelp.AES_KEY)
    assert keyed["encoding_mode"] == "safe"
    plain = await create(client, "plain", app_id="wx00000000000000c2")
    assert plain["encoding_mode"] == "plaintext"
    got = await client.get("/api/v1/accounts/acme", headers=AUTH)
    assert (await got.json())["encoding_mode"] == "safe"


@pytest.mark.parametrize("mode", ["safe", "compatible"])
async def test_an_encrypted_mode_needs_a_key(client: Client, mode: str) -> None:
    body = apihelp.account_body("acme", encoding_mode=mode)
    resp = await client.post("/api/v1/accounts", json=body, headers=AUTH)
    assert resp.status == 422
    assert (await resp.json())["error"]["details"][0]["loc"][-1] == "encoding_mode"
    await create(client, "acme")
    resp = await client.patch("/api/v1/accounts/acme", json={"encoding_mode": mode}, headers=AUTH)
    assert resp.status == 422


async def test_patch_changes_the_mode_and_follows_the_key(client: Client) -> None:
    await create(client, encoding_aes_key=apihelp.AES_KEY, encoding_mode="compatible")
    resp = await client.patch("/api/v1/accounts/acme", json={"encoding_mode": "safe"}, headers=AUTH)
    assert (resp.status, (await resp.json())["encoding_mode"]) == (200, "safe")
    # Removing the key leaves nothing to decrypt with: back to plaintext.
    resp = await client.patch(
        "/api/v1/accounts/acme", json={"encoding_aes_key": None}, headers=AUTH
    )
    assert (resp.status, (await resp.json())["encoding_mode"]) == (200, "plaintext")
    # A key set later turns on the default for a keyed account, as at creation.
    resp = await client.patch(
        "/api/v1/accounts/acme", json={"encoding_aes_key": apihelp.AES_KEY}, headers=AUTH
    )
    assert (resp.status, (await resp.json())["encoding_mode"]) == (200, "safe")
    resp = await client.patch(
        "/api/v1/accounts/acme",
        json={"encoding_aes_key": None, "encoding_mode": "compatible"},
        headers=AUTH,
    )
    assert resp.status == 422


# -- safe mode -------------------------------------------------------------------------


async def test_safe_mode_accepts_only_the_encrypted_form(
    client: Client, pool: asyncpg.Pool
) -> None:
    await create(client, encoding_aes_key=apihelp.AES_KEY)
    resp = await post(client, text(), "plain")
    assert resp.status == 403
    # The compatible form with its query stripped of encrypt_type reads as plaintext.
    query, body = wx.callback(text(), mode="compatible", app_id=APP_ID)
    del query["encrypt_type"], query["msg_signature"]
    resp = await client.post("/wechat/acme", params=query, data=body)
    assert resp.status == 403
    assert await stored(pool) == 0
    resp = await post(client, text(), "safe")
    assert (resp.status, await resp.text()) == (200, "success")
    assert await stored(pool) == 1


async def test_safe_mode_refuses_a_body_without_msg_signature_or_encrypt(
    client: Client, pool: asyncpg.Pool
) -> None:
    await create(client, encoding_aes_key=apihelp.AES_KEY)
    query, body = wx.callback(text(), mode="safe", app_id=APP_ID)
    del query["msg_signature"]
    resp = await client.post("/wechat/acme", params=query, data=body)
    assert resp.status == 403
    # Signed plaintext with encrypt_type=aes claimed, but no <Encrypt> in the body.
    query, body = wx.callback(text(), mode="plain", app_id=APP_ID)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = "0" * 40
    resp = await client.post("/wechat/acme", params=query, data=body)
    assert resp.status == 403
    assert await stored(pool) == 0


@pytest.mark.parametrize("form", ["plain", "compatible", "safe"])
async def test_compatible_mode_accepts_every_form(
    client: Client, pool: asyncpg.Pool, form: str
) -> None:
    await create(client, encoding_aes_key=apihelp.AES_KEY, encoding_mode="compatible")
    resp = await post(client, text(), form)
    assert (resp.status, await resp.text()) == (200, "success")
    assert await stored(pool) == 1


async def test_accounts_from_before_the_field_keep_accepting_plaintext(
    client: Client, pool: asyncpg.Pool
) -> None:
    """Rows written without the field (as tests/wx.py and older releases do) keep working."""
    await wx.insert_account(pool, "acme", app_id=APP_ID, aes=True)
    for form in ("plain", "compatible", "safe"):
        resp = await post(client, text(), form)
        assert resp.status == 200, form


# -- ToUserName ------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["plain", "compatible", "safe"])
async def test_callback_for_another_account_is_refused(
    client: Client, pool: asyncpg.Pool, form: str
) -> None:
    await create(client, encoding_aes_key=apihelp.AES_KEY, encoding_mode="compatible")
    fields = {**text(), "ToUserName": "gh_ffffffffffff"}
    resp = await post(client, fields, form)
    assert resp.status == 403
    assert await stored(pool) == 0


async def test_safe_envelope_naming_another_account_is_refused(
    client: Client, pool: asyncpg.Pool
) -> None:
    await create(client, encoding_aes_key=apihelp.AES_KEY)
    query, body = wx.callback(text(), mode="safe", app_id=APP_ID)
    envelope = xmlcodec.parse(body)
    envelope["ToUserName"] = "gh_ffffffffffff"
    resp = await client.post("/wechat/acme", params=query, data=xmlcodec.build(envelope).encode())
    assert resp.status == 403
    assert await stored(pool) == 0


async def test_without_original_id_any_to_user_name_is_accepted(
    client: Client, pool: asyncpg.Pool
) -> None:
    await create(client, original_id=None)
    resp = await post(client, {**text(), "ToUserName": "gh_ffffffffffff"}, "plain")
    assert resp.status == 200
    assert await stored(pool) == 1


async def test_mass_job_finish_may_come_without_to_user_name(
    client: Client, pool: asyncpg.Pool
) -> None:
    """One documented capture of MASSSENDJOBFINISH has an empty ToUserName; nothing else may."""
    await create(client)
    now = int(time.time())
    finish = wx.event(
        "MASSSENDJOBFINISH", create_time=now, MsgID="1000001625", Status="send success"
    )
    resp = await post(client, {**finish, "ToUserName": ""}, "plain")
    assert resp.status == 200
    resp = await post(client, {**text(), "ToUserName": ""}, "plain")
    assert resp.status == 403
    assert await stored(pool) == 1
