"""Signed (and, with an AES key, encrypted) pushes to an account's callback URL.

Like the platform, a push is retried on a timeout or a non-200 answer up to the configured
number of attempts in total, with the identical body, query and CreateTime each time.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from datetime import datetime
from typing import Any

import aiohttp
from yarl import URL

from gateway.mock import config, events, replies, state
from gateway.wechat import crypto, signature, xmlcodec

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    status: int | None
    reply: dict[str, Any] | None  # the passive reply, decrypted and parsed; None: none
    reply_problem: str | None
    reply_body: str | None  # the gateway's answer as received

    def view(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def envelope(
    account: state.Account, fields: events.Fields, openid: str, timestamp: str, nonce: str
) -> tuple[dict[str, str], str]:
    """The query parameters and body of one push."""
    plain = xmlcodec.build(fields)
    query = {
        "signature": signature.sign(account.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
    }
    if account.encoding_aes_key is None:
        return query, plain
    cipher = crypto.MessageCrypto(account.token, account.encoding_aes_key, account.app_id)
    encrypt = cipher.encrypt(plain)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = cipher.msg_signature(timestamp, nonce, encrypt)
    return query, xmlcodec.build({"ToUserName": account.original_id, "Encrypt": encrypt})


async def deliver(
    session: aiohttp.ClientSession,
    settings: config.MockConfig,
    account: state.Account,
    fields: events.Fields,
    openid: str,
    now: datetime,
) -> Delivery:
    """Push `fields` to the account and record the outcome in its callback log."""
    # Signed when pushed, whenever the event happened (`ago_seconds` back-dates CreateTime).
    timestamp = str(int(settings.now().timestamp()))
    nonce = str(1_000_000_000 + secrets.randbelow(9_000_000_000))
    query, body = envelope(account, fields, openid, timestamp, nonce)
    url = URL(account.callback_url).update_query(query)
    timeout = aiohttp.ClientTimeout(total=settings.callback_timeout)
    status: int | None = None
    reply: str | None = None
    attempts = 0
    while attempts < settings.callback_attempts:
        attempts += 1
        try:
            async with session.post(
                url, data=body.encode(), headers={"Content-Type": "text/xml"}, timeout=timeout
            ) as answer:
                status = answer.status
                reply = await answer.text(errors="replace")
        except (TimeoutError, aiohttp.ClientError):
            status, reply = None, None
        if status == 200:
            break
    delivered = status == 200
    problem = replies.problem(account, openid, reply) if delivered and reply is not None else None
    passive = None
    if delivered and reply is not None and problem is None:
        passive = replies.parsed(account, reply)
    outcome = Delivery(delivered, attempts, status, passive, problem, reply)
    kind = str(fields.get("Event", fields.get("MsgType", "")))
    account.callbacks.append(
        {
            "kind": kind,
            "openid": openid,
            "create_time": fields.get("CreateTime"),
            "at": now.isoformat(),
            **outcome.view(),
        }
    )
    log.info(
        "callback pushed",
        extra={
            "action": "mock_callback",
            "app_id": account.app_id,
            "kind": kind,
            "delivered": delivered,
            "attempts": attempts,
        },
    )
    return outcome
