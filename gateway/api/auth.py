"""Bearer-token authentication of every `/api/v1` route (SPEC 3), compared in constant time."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiohttp import web

from gateway.api import errors, keys

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
_SCHEME = "bearer "


def protected(path: str) -> bool:
    """True for every path under /api/v1, known route or not (a 401 never reveals routes)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def authorized(header: str | None, expected: str | None) -> bool:
    """`Authorization: Bearer <token>` matches the configured token; no token set: nobody."""
    if not expected or not header or header[: len(_SCHEME)].lower() != _SCHEME:
        return False
    presented = header[len(_SCHEME) :].strip()
    # surrogatepass: a header can carry any code point; it must not crash the compare.
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


@web.middleware
async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if protected(request.path):
        secret = request.app[keys.SETTINGS].api_token
        expected = secret.get_secret_value() if secret is not None else None
        if not authorized(request.headers.get("Authorization"), expected):
            log.info("api request refused", extra={"action": "api_unauthorized"})
            resp = errors.response("unauthorized", "missing or invalid bearer token")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="wxgate"'
            return resp
    result: web.StreamResponse = await handler(request)
    return result
