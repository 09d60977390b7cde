"""WeChat's sorted-concatenate-SHA-1 signature (callback `signature` and `msg_signature`)."""

from __future__ import annotations

import hashlib
import hmac


def _encode(text: str) -> bytes:
    # surrogatepass: a query string may carry lone surrogates; they must fail verification,
    # not raise.
    return text.encode("utf-8", "surrogatepass")


def sign(*parts: str) -> str:
    """Sort the parts as strings, join them without separator, return lowercase hex SHA-1.

    Code-point order equals UTF-8 byte order, which is the platform's plain string sort.
    """
    return hashlib.sha1(_encode("".join(sorted(parts)))).hexdigest()


def verify(signature: str, *parts: str) -> bool:
    """Check `signature` against `sign(*parts)` in constant time."""
    return hmac.compare_digest(_encode(signature), _encode(sign(*parts)))
