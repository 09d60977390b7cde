"""Authentication and authorization of every `/api/v1` route (SPEC 3, 11), and the audit
entry of every change made through it.

The bearer is the administrator's token (WXGATE_API_TOKEN, compared in constant time) or a
scoped token, looked up by its hash on every request so that a revoke is effective at once.
Scoping is generic: the account comes from the `{id}` of any route under
/api/v1/accounts/{id} and the scope from the method and route template
(gateway.domain.scopes), so routes added later are covered without doing anything.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiohttp import web

from gateway.api import errors, keys, trail
from gateway.domain import scopes
from gateway.store import api_tokens

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
_SCHEME = "bearer "


def protected(path: str) -> bool:
    """True for every path under /api/v1, known route or not (a 401 never reveals routes)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def presented(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not header or header[: len(_SCHEME)].lower() != _SCHEME:
        return None
    return header[len(_SCHEME) :].strip() or None


def same(token: str, expected: str) -> bool:
    # surrogatepass: a header can carry any code point; it must not crash the compare.
    return hmac.compare_digest(
        token.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def authorized(header: str | None, expected: str | None) -> bool:
    """`Authorization: Bearer <token>` matches the configured token; no token set: nobody."""
    token = presented(header)
    return bool(expected) and token is not None and same(token, expected or "")


def grant_of(row: api_tokens.Grant) -> scopes.Grant:
    """The grant of a stored token."""
    return scopes.Grant(
        name=row.name,
        token_id=row.id,
        all_accounts=row.all_accounts,
        accounts=frozenset(row.accounts),
        scopes=frozenset(row.scopes),
    )


async def grant_for(app: web.Application, token: str | None) -> scopes.Grant | None:
    """The grant of a bearer token: the administrator's, a live scoped token's, or None."""
    if token is None:
        return None
    secret = app[keys.SETTINGS].api_token
    expected = secret.get_secret_value() if secret is not None else ""
    if expected and same(token, expected):
        return scopes.ADMINISTRATOR
    row = await api_tokens.find_token(app[keys.POOL], token)
    return grant_of(row) if row is not None else None


def _refused(verdict: scopes.Verdict, request: web.Request) -> web.Response:
    if verdict is scopes.Verdict.NOT_FOUND:
        # The same answer as for an account that does not exist.
        return errors.response("not_found", f"no account {request.match_info['id']!r}")
    need = scopes.required_scope(request.method, trail.route_of(request))
    return errors.response(
        "forbidden",
        "this token may not do this"
        + (": administrator only" if need == scopes.ADMIN else f": it needs the {need} scope"),
        {"required": need},
    )


@web.middleware
async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if not protected(request.path):
        passed: web.StreamResponse = await handler(request)
        return passed
    grant = await grant_for(request.app, presented(request.headers.get("Authorization")))
    if grant is None:
        log.info("api request refused", extra={"action": "api_unauthorized"})
        resp = errors.response("unauthorized", "missing or invalid bearer token")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="wxgate"'
        return resp
    route = trail.route_of(request)
    account_id = request.match_info.get("id") if route.startswith(scopes.ACCOUNT) else None
    verdict = scopes.check(grant, request.method, route, account_id)
    if verdict is not scopes.Verdict.ALLOWED:
        log.info(
            "api request outside the token's grant",
            extra={"action": "api_" + verdict.value, "token_id": grant.token_id},
        )
        return _refused(verdict, request)
    request[keys.GRANT] = grant
    result: web.StreamResponse = await handler(request)
    if request.method not in scopes.SAFE_METHODS and 200 <= result.status < 300:
        await trail.record(request, grant, result.status, via="api", response=result)
    return result
