"""Access tokens: `/cgi-bin/stable_token`, `/cgi-bin/token`, and the check on every call."""

from __future__ import annotations

import hmac
import logging
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.mock import errors, faults, keys, payloads, state

log = logging.getLogger(__name__)

LIFETIME = timedelta(seconds=7200)
# A stable token is replaced this long before it expires; a superseded classic token stays
# usable this long after the next fetch.
HANDOVER = timedelta(minutes=5)


def owner(mock: state.MockState, value: str) -> state.Account | None:
    """The account a token was issued to, valid or not (for the sent log)."""
    token = mock.tokens.get(value)
    return mock.accounts.get(token.app_id) if token is not None else None


def authenticate(mock: state.MockState, value: str, now: datetime) -> state.Account:
    """The account whose current token this is: 41001 missing, 40001 stale, 42001 expired."""
    if not value:
        raise errors.ApiError(41001)
    token = mock.tokens.get(value)
    account = mock.accounts.get(token.app_id) if token is not None else None
    if token is None or account is None or token.invalidated:
        raise errors.ApiError(40001)
    if now >= token.expires_at:
        raise errors.ApiError(42001)
    if token.superseded_until is not None and now >= token.superseded_until:
        raise errors.ApiError(40001)
    return account


def invalidate(mock: state.MockState, account: state.Account) -> int:
    """Make every token of the account stale (the control route); returns how many."""
    count = 0
    for token in mock.tokens.values():
        if token.app_id == account.app_id and not token.invalidated:
            token.invalidated = True
            count += 1
    account.stable_token = account.classic_token = None
    return count


def _issue(
    mock: state.MockState, account: state.Account, source: state.TokenSource, now: datetime
) -> state.AccessToken:
    value = f"86_{mock.opaque(134)}"
    token = state.AccessToken(value, account.app_id, source, now, now + LIFETIME)
    mock.tokens[value] = token
    log.info("token issued", extra={"action": "mock_token", "app_id": account.app_id})
    return token


def _credentials(mock: state.MockState, grant: Any, appid: Any, secret: Any) -> state.Account:
    if grant != "client_credential":
        raise errors.ApiError(40002)
    if not appid:
        raise errors.ApiError(41002)
    if not secret:
        raise errors.ApiError(41004)
    account = mock.accounts.get(str(appid))
    if account is None:
        raise errors.ApiError(40013)
    if not hmac.compare_digest(str(secret).encode(), account.app_secret.encode()):
        raise errors.ApiError(40125)
    return account


def _answer(token: state.AccessToken, now: datetime) -> web.Response:
    remaining = int((token.expires_at - now).total_seconds())
    return web.json_response({"access_token": token.value, "expires_in": remaining})


def stable(
    mock: state.MockState, account: state.Account, force: bool, now: datetime
) -> state.AccessToken:
    """The same token while it has more than the hand-over time left; force_refresh replaces
    it and invalidates the previous one."""
    current = mock.tokens.get(account.stable_token or "")
    if current is not None and not force and current.expires_at - now > HANDOVER:
        return current
    if current is not None and force:
        current.invalidated = True
    fresh = _issue(mock, account, "stable", now)
    account.stable_token = fresh.value
    return fresh


def classic(mock: state.MockState, account: state.Account, now: datetime) -> state.AccessToken:
    """Every fetch issues a new token; the previous one stays valid for five minutes."""
    previous = mock.tokens.get(account.classic_token or "")
    if previous is not None and previous.superseded_until is None:
        previous.superseded_until = now + HANDOVER
    fresh = _issue(mock, account, "classic", now)
    account.classic_token = fresh.value
    return fresh


async def stable_token(request: web.Request) -> web.StreamResponse:
    mock = request.app[keys.STATE]
    now = request.app[keys.CONFIG].now()
    try:
        injected = await faults.inject(mock, "/cgi-bin/stable_token", request)
        if injected is not None:
            return injected.response
        body = payloads.parse(await request.read())
        account = _credentials(mock, body.get("grant_type"), body.get("appid"), body.get("secret"))
        force = body.get("force_refresh", False)
        if not isinstance(force, bool):
            raise errors.ApiError(47001, "force_refresh must be a boolean")
        token = stable(mock, account, force, now)
    except errors.ApiError as error:
        return errors.response(error)
    account.token_fetches["stable_token"] += 1
    return _answer(token, now)


async def classic_token(request: web.Request) -> web.StreamResponse:
    mock = request.app[keys.STATE]
    now = request.app[keys.CONFIG].now()
    query = request.query
    try:
        injected = await faults.inject(mock, "/cgi-bin/token", request)
        if injected is not None:
            return injected.response
        account = _credentials(
            mock, query.get("grant_type"), query.get("appid"), query.get("secret")
        )
    except errors.ApiError as error:
        return errors.response(error)
    account.token_fetches["token"] += 1
    return _answer(classic(mock, account, now), now)
