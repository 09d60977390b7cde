"""WeChat's callbacks: server verification (GET) and messages/events (POST), in plaintext,
compatible and safe (AES) modes. A POST is answered only after its commit: `success`, or the
passive reply stored with the event (encrypted when the callback was)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

from aiohttp import web

from gateway import errors, metrics
from gateway.api import account_cache, checkin, keys, passive
from gateway.domain import encoding
from gateway.store import errors as store_errors
from gateway.store import inbound
from gateway.wechat import crypto, reply_xml, signature, xmlcodec
from gateway.wechat import inbound as wx_inbound

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
# WeChat sends a callback's body at once; one still trickling in after this is a slow-loris
# holding a connection and a handler, answered 408 and disconnected.
READ_TIMEOUT = 5.0
# A signed POST is accepted this long either side of our clock. WeChat's retries come within
# seconds; an older capture replayed is refused, even once its dedupe row has been purged
# (a month on). (In plaintext mode the signature does not cover the body: use safe mode.)
MAX_SKEW = 3600


def _text(status: int, body: str) -> web.Response:
    return web.Response(status=status, text=body, content_type="text/plain")


_SUCCESS = b"success"


def _success() -> web.Response:
    """The answer to nearly every callback: its body and headers encoded once."""
    return web.Response(body=_SUCCESS, content_type="text/plain", charset="utf-8")


# The counter's child per (account, outcome), bound once: labels() per callback costs a lock
# and a tuple of its own (prometheus keeps every child anyway, so this is no larger).
_COUNTERS: dict[tuple[str, str], Any] = {}


def _outcome(account_id: str, outcome: str) -> None:
    key = (account_id, outcome)
    counter = _COUNTERS.get(key)
    if counter is None:
        counter = _COUNTERS[key] = metrics.CALLBACKS.labels(account_id=account_id, outcome=outcome)
    counter.inc()


async def _answer_and_close(request: web.Request, response: web.Response) -> web.Response:
    """Send `response`, then drop the connection at once: its request body never finished,
    so the connection cannot serve another request (and is not left to linger)."""
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response


async def _account(request: web.Request, deadline: float) -> account_cache.CallbackAccount:
    """The account, looked up within the callback's database budget: a database that is down
    or slow is a 503 (WeChat retries), never a 500 or an answer after WeChat gave up."""
    account_id = request.match_info["account_id"]
    cache = request.app[keys.ACCOUNT_CACHE]
    hit, account = cache.cached(account_id)  # the usual case: no wait, no timer
    try:
        if not hit:
            async with asyncio.timeout_at(deadline):
                account = await cache.get(account_id)
    except store_errors.FAILED as exc:  # the store's one list: down, slow, restarting, refusing
        log.warning(
            "callback account not loaded: %s",
            type(exc).__name__,
            extra={"action": "callback_unavailable", "account_id": account_id},
        )
        raise web.HTTPServiceUnavailable(text="temporarily unavailable") from None
    if account is None:
        raise web.HTTPNotFound(text="unknown account")
    return account


def _deadline(request: web.Request) -> float:
    """When the database part of this callback must be over (account lookup and commit)."""
    budget = request.app[keys.SETTINGS].callback_db_timeout
    return asyncio.get_running_loop().time() + budget


def _signed(request: web.Request, token: str) -> bool:
    q = request.query
    sig, timestamp, nonce = q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", "")
    return bool(sig) and signature.verify(sig, token, timestamp, nonce)


async def verify_server(request: web.Request) -> web.Response:
    """GET: WeChat checks the URL; answer echostr verbatim when the signature holds."""
    account = await _account(request, _deadline(request))
    if not _signed(request, account.token):
        _outcome(account.id, "forbidden")
        return _text(403, "invalid signature")
    return _text(200, request.query.get("echostr", ""))


def _fresh(timestamp: str) -> bool:
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    return abs(time.time() - int(timestamp)) <= MAX_SKEW


class BadCallback(errors.WxgateError):
    """The callback is refused as sent (its status says how: 400 or 403)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _safe_form(request: web.Request, fields: dict[str, str]) -> None:
    """Safe mode takes only the encrypted form: the URL signature covers no body, so a
    captured URL must not carry a forged plaintext (SPEC 2.2)."""
    q = request.query
    if q.get("encrypt_type") != "aes" or not q.get("msg_signature") or not fields.get("Encrypt"):
        raise BadCallback(403, "safe mode: only encrypted callbacks are accepted")


def _addressed(account: account_cache.CallbackAccount, fields: dict[str, str]) -> None:
    """With an original_id, the callback must be addressed to it (a push for another account
    signed with a shared token is refused). One capture of MASSSENDJOBFINISH has an empty
    ToUserName: that event alone may come without one."""
    if account.original_id is None:
        return
    to_user = fields.get("ToUserName", "")
    if to_user == account.original_id:
        return
    if not to_user and fields.get("Event") == "MASSSENDJOBFINISH":
        return
    raise BadCallback(403, "ToUserName is not this account's original_id")


def _plain_fields(
    request: web.Request, account: account_cache.CallbackAccount, body: bytes
) -> tuple[dict[str, str], bytes, crypto.MessageCrypto | None]:
    """The callback's fields after the checks of its form: signature, mode, msg_signature,
    AES, appid, XML (and the envelope's addressee); with the XML they were parsed from (the
    body, or the decrypted message) and the key that decrypted it (None: plaintext), which
    encrypts the reply."""
    if not _signed(request, account.token):
        raise BadCallback(403, "invalid signature")
    if not _fresh(request.query.get("timestamp", "")):
        raise BadCallback(403, "timestamp too far from our clock (a replay, or clock skew)")
    try:
        fields = xmlcodec.parse(body)
    except xmlcodec.XmlError:
        raise BadCallback(400, "malformed XML") from None
    if not encoding.accepts_plaintext(account.encoding_mode):
        _safe_form(request, fields)
    if request.query.get("encrypt_type", "raw") == "raw" and "Encrypt" not in fields:
        return fields, body, None
    if fields.get("ToUserName"):  # the envelope's, checked too: WeChat sets it in every form
        _addressed(account, fields)
    encrypt = fields.get("Encrypt")
    if not encrypt or not account.cryptos:
        raise BadCallback(400, "encrypted callback without Encrypt or without an AES key")
    q = request.query
    parts = (account.token, q.get("timestamp", ""), q.get("nonce", ""), encrypt)
    if not signature.verify(q.get("msg_signature", ""), *parts):
        raise BadCallback(403, "invalid msg_signature")
    for cipher in account.cryptos:
        try:
            inner = cipher.decrypt(encrypt)
        except crypto.CryptoError:
            continue
        try:
            return xmlcodec.parse(inner), inner, cipher
        except xmlcodec.XmlError:
            raise BadCallback(400, "malformed XML") from None
    raise BadCallback(403, "message could not be decrypted for this account")


def _text_of(xml: bytes) -> str | None:
    """The received XML as text to keep (UTF-8, as WeChat sends); None if it is not."""
    try:
        text = xml.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


async def receive(request: web.Request) -> web.Response:
    """POST: verify, parse, store with follower state in one commit, then answer."""
    received_at = dt.datetime.now(dt.UTC)
    started = asyncio.get_running_loop().time()
    deadline = _deadline(request)
    account = await _account(request, deadline)
    if request.content_length is not None and request.content_length > MAX_BODY:
        _outcome(account.id, "too_large")
        return _text(413, "body too large")
    try:
        if request.content.is_eof():  # the whole body came with the headers: no wait
            body = await request.read()
        else:
            async with asyncio.timeout(READ_TIMEOUT):
                body = await request.read()  # client_max_size caps it at 64 KiB (413)
    except TimeoutError:
        _outcome(account.id, "timeout")
        log.info(
            "callback body not received in time",
            extra={"action": "callback_read_timeout", "account_id": account.id},
        )
        return await _answer_and_close(request, _text(408, "request body not received in time"))
    try:
        fields, xml, cipher = _plain_fields(request, account, body)
        message = wx_inbound.parse_inbound(fields)
        _addressed(account, fields)
    except BadCallback as exc:
        log.info(
            "callback refused: %s",
            exc.reason,
            extra={"action": "callback_refused", "account_id": account.id, "size": len(body)},
        )
        _outcome(account.id, "forbidden" if exc.status == 403 else "bad_request")
        return _text(exc.status, exc.reason)
    except wx_inbound.InvalidMessage as exc:
        _outcome(account.id, "bad_request")
        return _text(400, f"invalid message: {exc}")
    raw_xml = _text_of(xml)
    try:
        reply = await passive.decide(
            request, account, message, raw_xml, received_at, started, deadline
        )
    except store_errors.FAILED as exc:  # the stored-reply look: the database is down or slow
        _outcome(account.id, "unavailable")
        log.warning(
            "callback reply not decided: %s",
            type(exc).__name__,
            extra={"action": "callback_unavailable", "account_id": account.id},
        )
        return _text(503, "temporarily unavailable")
    # After a reply endpoint's call the commit keeps its reserve, within the budget.
    loop = asyncio.get_running_loop()
    deadline = min(max(deadline, loop.time() + passive.COMMIT_RESERVE), started + passive.BUDGET)
    record = inbound.EventRecord(
        account_id=account.id,
        kind=account.kind,
        profile=account.profile,
        dedupe_key=message.dedupe_key,
        openid=message.from_user,
        msg_type=message.msg_type,
        event=message.event,
        event_key=message.event_key,
        msg_id=message.msg_id,
        create_time=dt.datetime.fromtimestamp(message.create_time, dt.UTC),
        received_at=received_at,
        fields=message.fields,
        scene=message.scene,
        raw_xml=raw_xml,
        reply_xml=reply,
    )
    try:
        # Past the deadline only this future fails (one timer for all callbacks): the event
        # stays queued and is stored anyway, so a retry is answered as a duplicate.
        stored = await request.app[keys.GROUP_COMMIT].submit(record, deadline)
    except store_errors.FAILED as exc:  # not in time, the queue full, the database's errors
        _outcome(account.id, "unavailable")
        log.warning(
            "callback not stored: %s",
            type(exc).__name__,
            extra={"action": "callback_unavailable", "account_id": account.id},
        )
        return _text(503, "temporarily unavailable")
    if not await checkin.after_callback(request.app, record):
        _outcome(account.id, "unavailable")
        return _text(503, "temporarily unavailable")
    _outcome(account.id, "stored" if stored else "duplicate")
    if stored.reply_xml is None:
        return _success()
    # A fresh timestamp and the request's nonce (platform doc 2.3), with the key that
    # decrypted the callback.
    nonce = request.query.get("nonce", "")
    try:
        answer = reply_xml.answer(stored.reply_xml, cipher, str(int(time.time())), nonce)
    except xmlcodec.XmlError:  # a nonce XML cannot carry: no reply rather than a bad one
        return _success()
    return web.Response(status=200, text=answer, content_type="application/xml")
