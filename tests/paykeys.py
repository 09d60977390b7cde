"""A WeChat Pay platform key pair and certificate for tests, made once per process (RSA key
generation takes a moment), plus a signed notification builder."""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.wechat import pay

APIV3_KEY = "0123456789abcdefABCDEF0123456789"
MCH_ID = "1900000109"


@functools.cache
def platform() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = pay.new_platform_key()
    return key, pay.self_signed(key, dt.datetime.now(dt.UTC))


@functools.cache
def other_platform() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A second key pair: a forger's, or the certificate after a rotation."""
    key = pay.new_platform_key()
    return key, pay.self_signed(key, dt.datetime.now(dt.UTC))


def dated(days_from_now: int, days: int) -> x509.Certificate:
    """A certificate for the second key valid from `days_from_now - 1` days for `days` days:
    in the past (expired) or the future (not yet valid)."""
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=days_from_now)
    return pay.self_signed(other_platform()[0], now, days=days)


def pem() -> str:
    return pay.pem(platform()[1])


def serial() -> str:
    return pay.serial(platform()[1])


def transaction(app_id: str, openid: str, transaction_id: str, **extra: Any) -> dict[str, Any]:
    tx: dict[str, Any] = {
        "appid": app_id,
        "mchid": MCH_ID,
        "out_trade_no": "order-" + transaction_id[-6:],
        "transaction_id": transaction_id,
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "success_time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "payer": {"openid": openid},
        "amount": {"total": 1999, "payer_total": 1999, "currency": "CNY"},
    }
    tx.update(extra)
    return tx


ENVELOPE = {
    "id": "EV-2018022511223320873",
    "create_time": "2015-05-20T13:29:35+08:00",
    "resource_type": "encrypt-resource",
    "event_type": "TRANSACTION.SUCCESS",
    "summary": "支付成功",
}


def notification(
    tx: dict[str, Any],
    *,
    key: rsa.RSAPrivateKey | None = None,
    cert_serial: str | None = None,
    apiv3_key: str = APIV3_KEY,
    timestamp: int | None = None,
    event_type: str = "TRANSACTION.SUCCESS",
) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a notification signed by the test platform (or `key`)."""
    ts = timestamp if timestamp is not None else int(dt.datetime.now(dt.UTC).timestamp())
    envelope = {**ENVELOPE, "event_type": event_type}
    return pay.notification(
        key or platform()[0], cert_serial or serial(), apiv3_key, envelope, tx, ts
    )


def resign(
    headers: dict[str, str], body: bytes, key: rsa.RSAPrivateKey | None = None
) -> dict[str, str]:
    """Headers signing `body` again (a tampered body, signed by whoever holds `key`)."""
    signature = pay.sign(
        key or platform()[0], headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"], body
    )
    return {**headers, "Wechatpay-Signature": signature}


def body_with(body: bytes, **changes: Any) -> bytes:
    return json.dumps({**json.loads(body), **changes}).encode()
