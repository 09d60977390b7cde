"""WeChat Pay's side of a payment: the platform's signing key and certificate, and the signed,
encrypted API v3 notification a `pay` action pushes to the account's `pay_notify_url`.

Like the platform, a notification is retried (up to the configured attempts) until the
merchant answers 200/204; unlike callbacks, every attempt is a new request, signed again
with a fresh nonce and timestamp. `POST /_mock/accounts/{app_id}/payments/{id}/notify`
pushes a stored transaction again, as the platform does on its retry schedule.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.mock import config, control, errors, keys, schemas, state
from gateway.wechat import pay

log = logging.getLogger(__name__)

SHANGHAI = timezone(timedelta(hours=8))
SUCCESS_STATUSES = (200, 204)


@dataclasses.dataclass(frozen=True)
class Platform:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    serial: str
    pem: str


def platform(mock: state.MockState, now: datetime) -> Platform:
    """The mock platform's key pair and certificate, made once (RSA 2048 takes a moment)."""
    if mock.pay_platform is None:
        key = pay.new_platform_key()
        cert = pay.self_signed(key, now)
        mock.pay_platform = Platform(key, cert, pay.serial(cert), pay.pem(cert))
    found: Platform = mock.pay_platform
    return found


async def certificate(request: web.Request) -> web.Response:
    """`GET /_mock/pay/certificate`: what a gateway configures as the platform certificate."""
    now = request.app[keys.CONFIG].now()
    found = platform(request.app[keys.STATE], now)
    return web.json_response(
        {
            "serial_no": found.serial,
            "certificate": found.pem,
            "effective_time": found.cert.not_valid_before_utc.isoformat(),
            "expire_time": found.cert.not_valid_after_utc.isoformat(),
        }
    )


def transaction(
    account: state.Account, openid: str, body: schemas.ActionIn, at: datetime
) -> dict[str, Any]:
    """A successful JSAPI transaction, remembered by the account (the decrypted resource)."""
    number = datetime.now(SHANGHAI).strftime("%Y%m%d") + f"{secrets.randbelow(10**18):018d}"
    tx = {
        "appid": account.app_id,
        "mchid": account.mch_id or "",
        "out_trade_no": body.out_trade_no or "order" + secrets.token_hex(8),
        "transaction_id": "42" + number,
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": at.astimezone(SHANGHAI).isoformat(timespec="seconds"),
        "payer": {"openid": openid},
        "amount": {
            "total": body.amount,
            "payer_total": body.amount,
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    }
    account.payments[str(tx["transaction_id"])] = {
        "notification_id": "EV-" + secrets.token_hex(10),
        "transaction": tx,
    }
    return tx


async def notify(
    session: aiohttp.ClientSession,
    settings: config.MockConfig,
    mock: state.MockState,
    account: state.Account,
    transaction_id: str,
) -> dict[str, Any]:
    """Push one stored transaction's notification; the outcome, also kept in the account's
    callback log (kind `TRANSACTION.SUCCESS`)."""
    stored = account.payments[transaction_id]
    tx = stored["transaction"]
    attempts, status, reply = 0, None, None
    if account.pay_notify_url is None or account.apiv3_key is None:
        return {"delivered": False, "attempts": 0, "status": None, "reply": None}
    found = platform(mock, settings.now())
    envelope = {
        "id": stored["notification_id"],
        "create_time": datetime.now(UTC).astimezone(SHANGHAI).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
    }
    timeout = aiohttp.ClientTimeout(total=settings.callback_timeout)
    while attempts < settings.callback_attempts:
        attempts += 1
        timestamp = int(settings.now().timestamp())
        headers, body = pay.notification(
            found.key, found.serial, account.apiv3_key, envelope, tx, timestamp
        )
        try:
            async with session.post(
                account.pay_notify_url, data=body, headers=headers, timeout=timeout
            ) as answer:
                status, reply = answer.status, await answer.text(errors="replace")
        except (TimeoutError, aiohttp.ClientError):
            status, reply = None, None
        if status in SUCCESS_STATUSES:
            break
    outcome = {
        "delivered": status in SUCCESS_STATUSES,
        "attempts": attempts,
        "status": status,
        "reply": reply,
    }
    account.callbacks.append(
        {
            "kind": "TRANSACTION.SUCCESS",
            "openid": tx["payer"]["openid"],
            "transaction_id": transaction_id,
            "at": settings.now().isoformat(),
            **outcome,
        }
    )
    log.info(
        "payment notification pushed",
        extra={"action": "mock_pay_notify", "app_id": account.app_id, **outcome},
    )
    return outcome


async def renotify(request: web.Request) -> web.Response:
    """`POST /_mock/accounts/{app_id}/payments/{transaction_id}/notify`: push it again."""
    account = control.account_of(request)
    transaction_id = request.match_info["transaction_id"]
    if transaction_id not in account.payments:
        raise errors.control(404, "not_found", "no such transaction for this account")
    app = request.app
    outcome = await notify(
        app[keys.HTTP], app[keys.CONFIG], app[keys.STATE], account, transaction_id
    )
    return web.json_response({**outcome, "transaction_id": transaction_id})


async def payments(request: web.Request) -> web.Response:
    """`GET /_mock/accounts/{app_id}/payments`: transactions, red packs and coupons."""
    account = control.account_of(request)
    sends = [
        {
            "kind": s.kind,
            "request_no": s.request_no,
            "openid": s.openid,
            "platform_id": s.platform_id,
            "params": s.params,
            "at": s.at.isoformat(),
        }
        for s in account.pay_sends.values()
    ]
    transactions = [p["transaction"] for p in account.payments.values()]
    return web.json_response({"transactions": transactions, "sends": sends})
