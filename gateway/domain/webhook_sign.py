"""Standard Webhooks signatures: secrets, signing and verifying (pure, stdlib only).

A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is the decoded bytes. A
signature header holds `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` per active
secret, space-separated.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import secrets
from collections.abc import Iterable

from gateway import errors

PREFIX = "whsec_"
SECRET_BYTES = 32
# Receivers should refuse timestamps further than this from their clock (replays).
TOLERANCE_SECONDS = 300


class InvalidSecret(errors.WxgateError, ValueError):
    """The secret is not `whsec_` + base64."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@functools.lru_cache(maxsize=1024)  # decoded once per secret, not once per request
def key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after `whsec_` (a bare base64 string too)."""
    raw = secret.removeprefix(PREFIX)
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret("a webhook secret is whsec_ followed by base64") from None
    if not decoded:
        raise InvalidSecret("a webhook secret must not be empty")
    return decoded


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of this request under `secret`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.digest(key(secret), signed, "sha256")  # one C call, as hmac.new(...).digest()
    return "v1," + base64.b64encode(digest).decode()


def header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per active secret."""
    return " ".join(signature(s, msg_id, timestamp, body) for s in secrets_)


def verify(
    secret: str, msg_id: str, timestamp: str, signatures: str, body: bytes, now: float
) -> bool:
    """True when one `v1` signature in the header matches and the timestamp is within
    TOLERANCE_SECONDS of `now` (constant-time comparison)."""
    if not timestamp.isdigit() or abs(int(timestamp) - now) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, msg_id, int(timestamp), body).encode()
    found = False
    for item in signatures.split(" "):
        if item.startswith("v1,") and hmac.compare_digest(item.encode(), expected):
            found = True
    return found
