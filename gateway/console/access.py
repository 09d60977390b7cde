"""What the signed-in token may see and do in the console: the same grant and scopes as the
API (gateway.domain.scopes), so an account outside the token is a 404 here too."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api import bodies, errors, keys
from gateway.console import session as sess
from gateway.store import accounts as accounts_store


def grant(request: web.Request) -> Any:
    return request[sess.SESSION].grant


async def account(request: web.Request) -> accounts_store.Account:
    """The route's account, if the token sees it (404 otherwise, as for a missing one)."""
    account_id = bodies.account_id(request)
    if not grant(request).sees(account_id):
        raise errors.ApiError("not_found", f"no account {account_id!r}")
    return await accounts_store.get_account(request.app[keys.POOL], account_id)


def require(request: web.Request, scope: str) -> None:
    """403 when the token lacks `scope` (send for messages, manage for settings)."""
    if not grant(request).allows(scope):
        raise errors.ApiError("forbidden", f"this token needs the {scope} scope")
