"""WeChat Pay API v3 notifications: the platform's RSA-SHA256 signature over
`timestamp\\nnonce\\nbody\\n` (headers Wechatpay-Signature/-Timestamp/-Nonce/-Serial) and the
AEAD_AES_256_GCM `resource` encrypted with the merchant's 32-byte APIv3 key.

Both sides live here: verify/decrypt for the gateway, sign/encrypt for the mock platform and
tests (the mock may share protocol code, never the rule core).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import secrets
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from gateway import errors

ALGORITHM = "AEAD_AES_256_GCM"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
APIV3_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
HEADERS = ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial")


class PayCryptoError(errors.WxgateError, ValueError):
    """A certificate, signature or resource that does not check out."""


def message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The signed string: timestamp, nonce and body, each followed by a newline."""
    return timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"


def load_certificate(pem: str) -> x509.Certificate:
    """A PEM platform certificate with an RSA key of at least 2048 bits, else PayCryptoError."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise PayCryptoError("not a PEM X.509 certificate") from exc
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise PayCryptoError("the certificate must hold an RSA key of at least 2048 bits")
    return cert


def check_validity(cert: x509.Certificate, now: dt.datetime) -> None:
    """PayCryptoError unless `now` is within the certificate's notBefore..notAfter."""
    if now < cert.not_valid_before_utc:
        when = cert.not_valid_before_utc.isoformat(timespec="seconds")
        raise PayCryptoError(f"the certificate is not valid before {when}")
    if now > cert.not_valid_after_utc:
        when = cert.not_valid_after_utc.isoformat(timespec="seconds")
        raise PayCryptoError(f"the certificate expired on {when}")


def serial(cert: x509.Certificate) -> str:
    """The serial number as WeChat Pay writes it (`Wechatpay-Serial`): uppercase hex."""
    return format(cert.serial_number, "X")


def verify(cert: x509.Certificate, timestamp: str, nonce: str, body: bytes, signature: str) -> bool:
    """True iff `signature` (base64) is the certificate key's PKCS#1 v1.5 SHA-256 signature."""
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)  # load_certificate saw to that
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, message(timestamp, nonce, body), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def decrypt(apiv3_key: str, resource: dict[str, Any]) -> bytes:
    """The plaintext of an encrypted `resource`; PayCryptoError if it is malformed, for
    another algorithm, or does not authenticate under this key."""
    if resource.get("algorithm") != ALGORITHM:
        raise PayCryptoError(f"resource.algorithm must be {ALGORITHM}")
    nonce, ciphertext = resource.get("nonce"), resource.get("ciphertext")
    associated = resource.get("associated_data") or ""
    if not isinstance(nonce, str) or not isinstance(ciphertext, str):
        raise PayCryptoError("resource.nonce and resource.ciphertext must be strings")
    if not isinstance(associated, str):
        raise PayCryptoError("resource.associated_data must be a string")
    try:
        raw = base64.b64decode(ciphertext, validate=True)
        return AESGCM(apiv3_key.encode()).decrypt(nonce.encode(), raw, associated.encode())
    except (binascii.Error, InvalidTag, ValueError) as exc:
        raise PayCryptoError("resource could not be decrypted") from exc


# --- the platform's side (the mock and tests) -------------------------------------------


def encrypt(
    apiv3_key: str, plaintext: bytes, associated_data: str, nonce: str | None = None
) -> dict[str, str]:
    """An encrypted `resource` object as the platform sends it."""
    nonce = nonce or secrets.token_hex(6)  # 12 characters, used as the 12-byte GCM nonce
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return {
        "algorithm": ALGORITHM,
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def sign(key: rsa.RSAPrivateKey, timestamp: str, nonce: str, body: bytes) -> str:
    raw = key.sign(message(timestamp, nonce, body), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()


def new_platform_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed(
    key: rsa.RSAPrivateKey, now: dt.datetime, days: int = 1825, name: str = "Tenpay.com Root CA"
) -> x509.Certificate:
    """A platform certificate for `key` (the real one is issued by Tenpay's CA)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def notification(
    key: rsa.RSAPrivateKey,
    cert_serial: str,
    apiv3_key: str,
    event: dict[str, Any],
    transaction: dict[str, Any],
    timestamp: int,
) -> tuple[dict[str, str], bytes]:
    """(headers, body) of one signed notification carrying `transaction`, freshly signed
    (every delivery attempt of the platform is a new request with its own nonce)."""
    resource = encrypt(apiv3_key, json.dumps(transaction).encode(), "transaction")
    body = json.dumps({**event, "resource": {"original_type": "transaction", **resource}})
    raw, ts, nonce = body.encode(), str(timestamp), secrets.token_hex(16)
    headers = {
        "Content-Type": "application/json",
        "Wechatpay-Signature": sign(key, ts, nonce, raw),
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": cert_serial,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }
    return headers, raw
