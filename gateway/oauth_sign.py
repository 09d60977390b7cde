"""The identity assertion a target application receives after OAuth (single sign-on).

signature = hex HMAC-SHA256(oauth_signing_key, openid + "\\n" + issued_at + "\\n" + target host).
Binding the host stops a signed redirect for one application being replayed to another.
"""

from __future__ import annotations

import hashlib
import hmac


def sign(key: str, openid: str, issued_at: int, host: str) -> str:
    message = f"{openid}\n{issued_at}\n{host.lower()}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def verify(
    key: str, openid: str, issued_at: int, host: str, signature: str, now: int, max_age: int = 300
) -> bool:
    """What a target does: recompute, compare in constant time, and refuse stale assertions."""
    if not 0 <= now - issued_at <= max_age:
        return False
    return hmac.compare_digest(sign(key, openid, issued_at, host), signature)
