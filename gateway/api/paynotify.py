"""`POST /wechat/{account_id}/pay/notify`: WeChat Pay API v3 payment notifications (C2).

Checks, in order: the account receives payments (service kind, pay settings), the four
Wechatpay-* headers, the certificate named by Wechatpay-Serial (the replaced one only within
the rotation grace period; either only within its validity dates), the timestamp (at most 5
minutes off), the RSA-SHA256 signature, the AES-256-GCM resource, the app id and merchant id.
Then one transaction stores the nonce (a replay is refused), the payment (once per
transaction id) and the payer's window. Answers are the platform's shapes: 200
{"code": "SUCCESS"}; 4xx/5xx {"code": "FAIL", "message": ...} (WeChat retries those).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from aiohttp import web
from cryptography import x509

from gateway import errors, metrics
from gateway.api import body_deadline, keys, payconfig
from gateway.domain import kinds, rotation
from gateway.store import errors as store_errors
from gateway.store import payments as store
from gateway.wechat import pay

log = logging.getLogger(__name__)

MAX_SKEW = dt.timedelta(minutes=5)
SUCCESS_EVENT = "TRANSACTION.SUCCESS"


class Refused(errors.WxgateError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _fail(status: int, message: str) -> web.Response:
    return web.json_response({"code": "FAIL", "message": message}, status=status)


def _success() -> web.Response:
    return web.json_response({"code": "SUCCESS", "message": "OK"})


def _outcome(account_id: str, outcome: str) -> None:
    metrics.CALLBACKS.labels(account_id=account_id, outcome="pay_" + outcome).inc()


def _certificate(account: store.PayAccount, serial: str, now: dt.datetime) -> x509.Certificate:
    """The certificate named by Wechatpay-Serial: the current one, or the replaced one within
    the rotation grace period; either only within its validity dates."""
    candidates = [(account.pay_cert_pem, account.pay_cert_serial)]
    if rotation.previous_trusted(account.pay_cert_rotated_at, now):
        candidates.append((account.pay_previous_cert_pem, account.pay_previous_cert_serial))
    for pem, known in candidates:
        if pem and known and known.upper() == serial.upper():
            cert = pay.load_certificate(str(pem))
            try:
                pay.check_validity(cert, now)
            except pay.PayCryptoError as exc:
                raise Refused(401, f"platform certificate {known}: {exc}") from None
            return cert
    raise Refused(401, "unknown Wechatpay-Serial")


def _verified(
    request: web.Request, account: store.PayAccount, body: bytes, now: dt.datetime
) -> str:
    """The nonce of a notification whose headers, timestamp and signature check out."""
    values = [request.headers.get(name, "") for name in pay.HEADERS]
    if not all(values):
        raise Refused(401, "missing Wechatpay-* signature headers")
    signature, timestamp, nonce, serial = values
    cert = _certificate(account, serial, now)
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise Refused(401, "invalid Wechatpay-Timestamp")
    sent_at = dt.datetime.fromtimestamp(int(timestamp), dt.UTC)
    if abs(now - sent_at) > MAX_SKEW:
        raise Refused(401, "Wechatpay-Timestamp is more than 5 minutes off")
    if len(nonce) > 64 or not pay.verify(cert, timestamp, nonce, body, signature):
        raise Refused(401, "invalid signature")
    return nonce


def _json_object(raw: bytes | str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise Refused(400, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return value


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _payment(
    account: store.PayAccount, envelope: dict[str, Any], tx: dict[str, Any]
) -> store.Payment:
    if tx.get("appid") != account.app_id or tx.get("mchid") != account.pay_mch_id:
        raise Refused(400, "the transaction is for another app id or merchant")
    payer = tx.get("payer")
    openid = _text(payer.get("openid")) if isinstance(payer, dict) else None
    transaction_id = _text(tx.get("transaction_id"))
    if openid is None or transaction_id is None or len(transaction_id) > 64:
        raise Refused(400, "the transaction lacks transaction_id or payer.openid")
    amount: dict[str, Any] = tx["amount"] if isinstance(tx.get("amount"), dict) else {}
    total = amount.get("total")
    return store.Payment(
        transaction_id=transaction_id,
        out_trade_no=_text(tx.get("out_trade_no")),
        openid=openid[:128],
        amount_total=total if isinstance(total, int) and 0 <= total < 2**31 else None,
        currency=_text(amount.get("currency")),
        trade_state=str(tx.get("trade_state", "")),
        trade_type=_text(tx.get("trade_type")),
        success_time=_time(tx.get("success_time")),
        notification_id=_text(envelope.get("id")),
        transaction=tx,
    )


async def _account(request: web.Request, account_id: str) -> store.PayAccount:
    account = await store.pay_account(request.app[keys.POOL], account_id)
    if account is None:
        raise Refused(404, "unknown account")
    kind = kinds.AccountKind(account.kind)
    if not kinds.has_capability(kind, kinds.Capability.PAYMENTS):
        refusal = kinds.refusal(kind, kinds.Capability.PAYMENTS)
        raise Refused(403, f"capability_not_available: {refusal}")
    if not payconfig.complete(account):
        # Not the platform's fault: answer so that it retries once we are configured.
        raise Refused(503, "payments are not configured for this account")
    return account


async def notify(request: web.Request) -> web.Response:
    received_at = dt.datetime.now(dt.UTC)
    account_id = request.match_info["account_id"]
    try:
        body = await body_deadline.read(request)  # client_max_size caps it at 64 KiB
    except body_deadline.TooSlow:
        _outcome(account_id, "timeout")
        return await body_deadline.answer_and_close(
            request, _fail(408, "request body not received in time")
        )
    try:
        account = await _account(request, account_id)
        nonce = _verified(request, account, body, received_at)
        envelope = _json_object(body, "the body")
        resource = envelope.get("resource")
        if not isinstance(resource, dict):
            raise Refused(400, "the body has no resource object")
        try:
            plain = pay.decrypt(str(account.pay_apiv3_key), resource)
        except pay.PayCryptoError as exc:
            raise Refused(400, str(exc)) from None
        tx = _json_object(plain, "the resource")
        payment = _payment(account, envelope, tx)
        if envelope.get("event_type") != SUCCESS_EVENT or payment.trade_state != "SUCCESS":
            log.info(
                "pay notification ignored (not a successful payment)",
                extra={"action": "pay_ignored", "account_id": account_id},
            )
            _outcome(account_id, "ignored")
            return _success()
        stored = await store.record_payment(
            request.app[keys.POOL], account, nonce, payment, received_at
        )
    except Refused as exc:
        log.info(
            "pay notification refused: %s",
            exc.message,
            extra={"action": "pay_refused", "account_id": account_id, "size": len(body)},
        )
        _outcome(account_id, "refused")
        return _fail(exc.status, exc.message)
    except store.Replayed:
        log.info(
            "pay notification refused: nonce replayed",
            extra={"action": "pay_refused", "account_id": account_id, "size": len(body)},
        )
        _outcome(account_id, "replayed")
        return _fail(401, "replayed notification (nonce seen before)")
    except store_errors.FAILED as exc:  # the database is down or restarting: the platform retries
        log.warning(
            "pay notification not stored: %s",
            type(exc).__name__,
            extra={"action": "pay_unavailable", "account_id": account_id},
        )
        _outcome(account_id, "unavailable")
        return _fail(503, "temporarily unavailable")
    _outcome(account_id, "stored" if stored else "duplicate")
    return _success()
