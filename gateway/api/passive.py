"""The passive reply of one callback (SPEC 8), decided before its commit: the first reply
rule that matches, else the account's reply endpoint, called with the signed webhook
payload within what the 5-second budget leaves; the reply rendered as plaintext XML, to be
stored with the event. A callback already stored never calls the endpoint again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import time

import aiohttp
from aiohttp import web

from gateway import webhook_net
from gateway.api import account_cache, keys
from gateway.domain import (
    reply_content,
    reply_match,
    reply_rules,
    webhook_payload,
    webhook_rules,
    webhook_sign,
)
from gateway.store import replies as reply_store
from gateway.wechat import inbound as wx_inbound
from gateway.wechat import reply_xml, xmlcodec

log = logging.getLogger(__name__)

# WeChat waits 5 s; the answer leaves by BUDGET after the request came, and the endpoint's
# call ends COMMIT_RESERVE before that, so the commit still has its time.
BUDGET = 4.5
# WeChat re-sends a callback it had no answer to after 5 s, with the same body (CreateTime
# included), and it sends the first attempt after the message was created: a retry is at
# least 5 s old by WeChat's clock. A callback at least RETRY_AGE old by ours may be one, so
# its stored reply is looked up before any rule runs: a retry is answered without a second
# evaluation (SPEC 8) as long as our clock runs less than 1 s behind WeChat's. A younger one
# (nearly every first attempt) runs the rules at once, with no round trip; the commit still
# answers a duplicate with its stored reply.
RETRY_AGE = 4
COMMIT_RESERVE = 1.0
MAX_ANSWER = 64 * 1024
REPLY_EVENT_PREFIX = "evt_r"  # + 16 hex digits of the callback's dedupe key hash


def event_id(account_id: str, dedupe_key: str) -> str:
    """The `webhook-id` of a reply endpoint's call: the same for every call about one
    callback (the event's stored id does not exist before its commit)."""
    digest = hashlib.sha256(f"{account_id}\x00{dedupe_key}".encode()).hexdigest()
    return REPLY_EVENT_PREFIX + digest[:16]


def callback_of(message: wx_inbound.Inbound) -> reply_match.Callback | None:
    return reply_match.callback_of(
        message.msg_type, message.event, message.event_key, message.fields.get("Content")
    )


def render(
    reply: reply_content.Reply, message: wx_inbound.Inbound, account: account_cache.CallbackAccount
) -> str | None:
    """The reply's XML to the follower, from the account's original id (else the callback's
    ToUserName); None if its text cannot be carried by XML."""
    from_user = account.original_id or message.to_user
    try:
        return reply_xml.render(
            reply.msgtype, reply.body, message.from_user, from_user, int(time.time())
        )
    except (xmlcodec.XmlError, ValueError):
        return None


def _parse_answer(raw: bytes, user_message: bool) -> reply_content.Reply | None:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or "reply" not in value:
        return None
    try:
        return reply_rules.parse_reply_for(value["reply"], user_message, ("reply",))
    except reply_content.Invalid:
        return None


async def _call(
    session: aiohttp.ClientSession,
    endpoint: account_cache.ReplyEndpoint,
    ev_id: str,
    body: bytes,
    seconds: float,
) -> tuple[int | None, bytes]:
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "wxgate-replies/1",
        "webhook-id": ev_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": webhook_sign.header(endpoint.secrets, ev_id, stamp, body),
    }
    async with asyncio.timeout(seconds):
        async with session.post(
            endpoint.url, data=body, headers=headers, allow_redirects=False
        ) as resp:
            raw = await resp.content.read(MAX_ANSWER + 1)
            return resp.status, raw


async def ask_endpoint(
    request: web.Request,
    account: account_cache.CallbackAccount,
    message: wx_inbound.Inbound,
    raw_xml: str | None,
    received_at: dt.datetime,
    started: float,
    user_message: bool,
) -> reply_content.Reply | None:
    """The reply endpoint's answer as a reply, or None (any status but 200, a body that is
    not `{"reply": {...}}` valid as a rule's reply, a refused destination, no answer in
    time)."""
    endpoint = account.reply_endpoint
    assert endpoint is not None
    settings = request.app[keys.SETTINGS]
    loop = asyncio.get_running_loop()
    timeout = min(settings.reply_timeout, started + BUDGET - COMMIT_RESERVE - loop.time())
    if timeout <= 0 or webhook_net.literal_refusal(endpoint.url, settings.webhook_allow_private):
        return None
    event_type = webhook_rules.inbound_type(message.msg_type, message.event)
    ev_id = event_id(account.id, message.dedupe_key)
    created = dt.datetime.fromtimestamp(message.create_time, dt.UTC)
    data = webhook_payload.callback_data(message.from_user, created, message.fields, raw_xml)
    body = webhook_payload.body(
        webhook_payload.payload(ev_id, event_type, account.id, received_at, data)
    )
    outcome = "no_reply"
    reply = None
    try:
        status, raw = await _call(request.app[keys.REPLY_HTTP], endpoint, ev_id, body, timeout)
        if status == 200 and len(raw) <= MAX_ANSWER:
            reply = _parse_answer(raw, user_message)
            outcome = "reply" if reply is not None else "invalid_answer"
        else:
            outcome = f"status_{status}"
    except TimeoutError:
        outcome = "timeout"
    except Exception as exc:  # ClientError, OSError, ...: whatever it is, no reply
        outcome = type(exc).__name__
    log.info(
        "reply endpoint called: %s",
        outcome,
        extra={
            "action": "reply_endpoint",
            "account_id": account.id,
            "endpoint_id": endpoint.id,
            "outcome": outcome,
            "latency_ms": round((loop.time() - started) * 1000, 1),
        },
    )
    return reply


def _wants(endpoint: account_cache.ReplyEndpoint, message: wx_inbound.Inbound) -> bool:
    types = endpoint.event_types
    event_type = webhook_rules.inbound_type(message.msg_type, message.event)
    return types is None or webhook_rules.matches(types, event_type)


async def _stored(
    request: web.Request,
    account: account_cache.CallbackAccount,
    message: wx_inbound.Inbound,
    deadline: float,
) -> bool:
    """Whether this callback is stored already (a retry), within the callback's deadline."""
    async with asyncio.timeout_at(deadline):
        stored, _ = await reply_store.stored_reply(
            request.app[keys.POOL], account.id, message.dedupe_key
        )
    return stored


async def decide(
    request: web.Request,
    account: account_cache.CallbackAccount,
    message: wx_inbound.Inbound,
    raw_xml: str | None,
    received_at: dt.datetime,
    started: float,
    deadline: float,
) -> str | None:
    """The plaintext XML of the passive reply to store with this callback (None: none)."""
    if not account.answers:
        return None
    callback = callback_of(message)
    if callback is None:
        return None
    looked = received_at.timestamp() - message.create_time >= RETRY_AGE
    if looked and await _stored(request, account, message, deadline):
        return None  # a retry: the commit answers with the reply stored the first time
    reply = account.replies.answer(callback)
    endpoint = account.reply_endpoint
    if reply is None and endpoint is not None and _wants(endpoint, message):
        # A retry of a stored callback gets its stored reply from the commit; never a second
        # call to the endpoint.
        if looked or not await _stored(request, account, message, deadline):
            user_message = callback.trigger is reply_match.Trigger.MESSAGE
            reply = await ask_endpoint(
                request, account, message, raw_xml, received_at, started, user_message
            )
    return None if reply is None else render(reply, message, account)
