"""WeChat Pay API v3 notification crypto: RSA-SHA256 signatures and AEAD_AES_256_GCM."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.wechat import pay
from tests import paykeys

BODY = b'{"id":"EV-1","resource":{}}'


def test_signature_round_trip() -> None:
    key, cert = paykeys.platform()
    signature = pay.sign(key, "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", BODY)
    assert pay.verify(cert, "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", BODY, signature)


@pytest.mark.parametrize(
    ("timestamp", "nonce", "body"),
    [
        ("1554208461", "nonce-1", BODY),  # another timestamp
        ("1554208460", "nonce-2", BODY),  # another nonce
        ("1554208460", "nonce-1", BODY + b" "),  # another body
    ],
)
def test_signature_covers_timestamp_nonce_and_body(timestamp: str, nonce: str, body: bytes) -> None:
    key, cert = paykeys.platform()
    signature = pay.sign(key, "1554208460", "nonce-1", BODY)
    assert not pay.verify(cert, timestamp, nonce, body, signature)


def test_signed_message_is_three_lines() -> None:
    assert pay.message("1", "n", b"{}") == b"1\nn\n{}\n"


def test_signature_by_another_key_fails() -> None:
    _, cert = paykeys.platform()
    forger, _ = paykeys.other_platform()
    assert not pay.verify(cert, "1", "n", BODY, pay.sign(forger, "1", "n", BODY))


@pytest.mark.parametrize("signature", ["", "not base64!", base64.b64encode(b"x" * 256).decode()])
def test_garbage_signatures_fail(signature: str) -> None:
    assert not pay.verify(paykeys.platform()[1], "1", "n", BODY, signature)


def test_resource_round_trip() -> None:
    resource = pay.encrypt(paykeys.APIV3_KEY, b'{"transaction_id": "42"}', "transaction")
    assert resource["algorithm"] == "AEAD_AES_256_GCM" and len(resource["nonce"]) == 12
    assert pay.decrypt(paykeys.APIV3_KEY, resource) == b'{"transaction_id": "42"}'


def _sealed() -> dict[str, str]:
    return pay.encrypt(paykeys.APIV3_KEY, b"{}", "transaction", nonce="fdasflkja484")


@pytest.mark.parametrize(
    "change",
    [
        {"associated_data": "certificate"},
        {"nonce": "fdasflkja485"},
        {"ciphertext": base64.b64encode(b"\0" * 20).decode()},
        {"ciphertext": "%%% not base64"},
        {"algorithm": "AEAD_AES_128_GCM"},
        {"nonce": None},
        {"ciphertext": 42},
        {"nonce": ""},
    ],
)
def test_tampered_resources_do_not_decrypt(change: dict[str, object]) -> None:
    resource = {**_sealed(), **change}
    with pytest.raises(pay.PayCryptoError):
        pay.decrypt(paykeys.APIV3_KEY, resource)


def test_another_apiv3_key_does_not_decrypt() -> None:
    with pytest.raises(pay.PayCryptoError):
        pay.decrypt("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", _sealed())


def test_certificate_serial_is_uppercase_hex() -> None:
    cert = paykeys.platform()[1]
    assert pay.serial(cert) == format(cert.serial_number, "X")
    assert pay.serial(pay.load_certificate(paykeys.pem())) == pay.serial(cert)


def test_certificates_must_be_pem_rsa_2048() -> None:
    with pytest.raises(pay.PayCryptoError, match="PEM"):
        pay.load_certificate("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    now = dt.datetime.now(dt.UTC)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(pay.PayCryptoError, match="2048"):
        pay.load_certificate(pay.pem(pay.self_signed(small, now)))
    curve = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(pay.PayCryptoError, match="RSA"):
        pay.load_certificate(pay.pem(pay.self_signed(curve, now)))  # type: ignore[arg-type]


def test_notification_verifies_and_decrypts() -> None:
    tx = paykeys.transaction("wx1", "o1", "4200000001")
    headers, body = paykeys.notification(tx)
    assert set(pay.HEADERS) <= set(headers)
    assert headers["Wechatpay-Serial"] == paykeys.serial()
    assert pay.verify(
        paykeys.platform()[1],
        headers["Wechatpay-Timestamp"],
        headers["Wechatpay-Nonce"],
        body,
        headers["Wechatpay-Signature"],
    )
    envelope = json.loads(body)
    assert envelope["event_type"] == "TRANSACTION.SUCCESS"
    assert envelope["resource"]["original_type"] == "transaction"
    assert json.loads(pay.decrypt(paykeys.APIV3_KEY, envelope["resource"])) == tx


def test_every_notification_has_its_own_nonce() -> None:
    tx = paykeys.transaction("wx1", "o1", "4200000001")
    nonces = {paykeys.notification(tx)[0]["Wechatpay-Nonce"] for _ in range(5)}
    assert len(nonces) == 5


def test_certificate_validity_dates_are_checked() -> None:
    key = paykeys.other_platform()[0]
    issued = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    cert = pay.self_signed(key, issued, days=30)  # valid from Jan 9 to Feb 9 (to the second)
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    for inside in (start, start + dt.timedelta(days=10), end):
        pay.check_validity(cert, inside)
    with pytest.raises(pay.PayCryptoError, match="not valid before 2026-01-09T00:00:00"):
        pay.check_validity(cert, start - dt.timedelta(seconds=1))
    with pytest.raises(pay.PayCryptoError, match="expired on 2026-02-09T00:00:00"):
        pay.check_validity(cert, end + dt.timedelta(seconds=1))
