"""Builds signed (and encrypted) WeChat callbacks the way the platform does, for tests."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from typing import Any

import asyncpg

from gateway.wechat import crypto, signature, xmlcodec

TOKEN = "tok3n"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
_msgids = itertools.count(6272960105994287618)
_nonces = itertools.count(415670741)


async def insert_account(
    db: asyncpg.Pool | asyncpg.Connection,
    account_id: str = "acme",
    *,
    kind: str = "service",
    app_id: str = "wx0123456789abcdef",
    aes: bool = False,
    rule_profile: str = "seed",
    oauth_hosts: tuple[str, ...] = (),
) -> None:
    await db.execute(
        "INSERT INTO accounts (id, kind, app_id, app_secret, token, encoding_aes_key,"
        " original_id, rule_profile, oauth_redirect_hosts, oauth_signing_key)"
        " VALUES ($1, $2, $3, 'secret-' || $1, $4, $5, 'gh_0123456789ab', $6, $7, 'sign-' || $1)",
        account_id,
        kind,
        app_id,
        TOKEN,
        AES_KEY if aes else None,
        rule_profile,
        list(oauth_hosts),
    )


def text(
    content: str = "hello", *, openid: str = OPENID, create_time: int, msg_id: int | None = None
) -> dict[str, Any]:
    return {
        "ToUserName": "gh_0123456789ab",
        "FromUserName": openid,
        "CreateTime": create_time,
        "MsgType": "text",
        "Content": content,
        "MsgId": msg_id if msg_id is not None else next(_msgids),
    }


def event(
    name: str, key: str | None = None, *, openid: str = OPENID, create_time: int, **extra: Any
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ToUserName": "gh_0123456789ab",
        "FromUserName": openid,
        "CreateTime": create_time,
        "MsgType": "event",
        "Event": name,
    }
    if key is not None:
        fields["EventKey"] = key
    fields.update(extra)
    return fields


def signed_query(token: str = TOKEN, *, timestamp: str | None = None) -> dict[str, str]:
    """A signed query as WeChat sends it, stamped now (the gateway refuses stale ones)."""
    timestamp = timestamp or str(int(time.time()))
    nonce = str(next(_nonces))
    return {
        "signature": signature.sign(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
    }


def callback(
    fields: Mapping[str, Any],
    *,
    mode: str = "plain",
    token: str = TOKEN,
    app_id: str = "wx0123456789abcdef",
    aes_key: str = AES_KEY,
) -> tuple[dict[str, str], bytes]:
    """(query, body) of a callback in plain, compatible or safe mode."""
    query = signed_query(token)
    query["openid"] = str(fields.get("FromUserName", ""))
    xml = xmlcodec.build(fields)
    if mode == "plain":
        return query, xml.encode()
    cipher = crypto.MessageCrypto(token, aes_key, app_id)
    encrypt = cipher.encrypt(xml)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = cipher.msg_signature(query["timestamp"], query["nonce"], encrypt)
    if mode == "safe":
        envelope: dict[str, Any] = {"ToUserName": fields.get("ToUserName", ""), "Encrypt": encrypt}
    else:
        envelope = {**fields, "Encrypt": encrypt}
    return query, xmlcodec.build(envelope).encode()
