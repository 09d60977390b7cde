"""OAuth web authorization (C6, service accounts only): a redirect to WeChat with a stored,
single-use state bound to the browser, and the callback that exchanges the code, records
the grant and sends the browser to the allow-listed target with a signed identity.

The browser binding (no login CSRF): /authorize sets a cookie naming the browser and stores
its hash with the state; /callback takes a state only with that cookie, so a victim sent to
an attacker's callback link is not signed in as the attacker."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
import urllib.parse
from typing import NoReturn

from aiohttp import web

from gateway import oauth_sign
from gateway.api import errors, keys
from gateway.domain import kinds, redirects
from gateway.store import accounts as accounts_store
from gateway.store import oauth_grants, oauth_states
from gateway.wechat import client as wx

log = logging.getLogger(__name__)

REAL_OAUTH_BASE = "https://open.weixin.qq.com"
SCOPES = ("snsapi_base", "snsapi_userinfo")
# WeChat's answers to a bad, expired or reused code: the browser's fault, not ours.
BAD_CODE_ERRCODES = frozenset({40029, 40163, 42003, 41008})
# Unexpired, unused states per account: /authorize is unauthenticated (README, Decisions).
MAX_PENDING_STATES = 10_000
COOKIE = "wxgate_oauth"
COOKIE_MAX_AGE = 600  # a state's lifetime
_BROWSER_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")


async def _account(request: web.Request) -> oauth_grants.OAuthAccount:
    account_id = request.match_info["account_id"]
    row = await oauth_grants.get_oauth_account(request.app[keys.POOL], account_id)
    if row is None:
        raise errors.ApiError("not_found", f"account {account_id!r} not found")
    kind = kinds.AccountKind(row.kind)
    if not kinds.has_capability(kind, kinds.Capability.OAUTH):
        raise errors.ApiError(
            "capability_not_available", kinds.refusal(kind, kinds.Capability.OAUTH)
        )
    return row


def _browser_id(request: web.Request) -> str | None:
    value = request.cookies.get(COOKIE, "")
    return value if _BROWSER_ID.fullmatch(value) else None


def _digest(browser_id: str) -> str:
    return hashlib.sha256(browser_id.encode()).hexdigest()


def _bind(response: web.StreamResponse, request: web.Request, account_id: str) -> str:
    """Set (or renew) the browser's cookie on `response`; returns its hash for the state.
    Lax: the top-level redirect back from WeChat carries it; scoped to this account's
    OAuth paths, where the callback reads it."""
    browser_id = _browser_id(request) or secrets.token_urlsafe(24)
    secure = request.app[keys.SETTINGS].public_base().startswith("https://")
    response.set_cookie(
        COOKIE,
        browser_id,
        max_age=COOKIE_MAX_AGE,
        path=f"/oauth/{account_id}/",
        httponly=True,
        samesite="Lax",
        secure=secure,
    )
    return _digest(browser_id)


async def authorize(request: web.Request) -> web.Response:
    account = await _account(request)
    target = request.query.get("redirect", "")
    scope = request.query.get("scope", "snsapi_base")
    if scope not in SCOPES:
        raise errors.ApiError("bad_request", f"scope must be one of {', '.join(SCOPES)}")
    hosts = list(account.oauth_redirect_hosts)
    if not redirects.allowed(target, hosts):
        raise errors.ApiError(
            "bad_request",
            "redirect must be an http(s) URL on one of the account's oauth_redirect_hosts",
        )
    await begin(request, account, target, scope)


async def begin(
    request: web.Request,
    account: oauth_grants.OAuthAccount | accounts_store.Account,
    target: str,
    scope: str,
) -> NoReturn:
    """Store a single-use state for `target` and send the browser to WeChat's consent page;
    the callback then redirects to `target` with a signed identity. `target` is trusted
    here: callers check it (the allow-list above, or a page of the gateway itself)."""
    state = secrets.token_hex(16)  # WeChat allows [a-zA-Z0-9], at most 128 bytes
    settings = request.app[keys.SETTINGS]
    redirect_uri = f"{settings.public_base()}/oauth/{account.id}/callback"
    query = urllib.parse.urlencode(
        {
            "appid": account.app_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": scope,
            "state": state,
        },
        quote_via=urllib.parse.quote,
        safe="",
    )
    base = (settings.wechat_oauth_base or REAL_OAUTH_BASE).rstrip("/")
    found = web.HTTPFound(f"{base}/connect/oauth2/authorize?{query}#wechat_redirect")
    browser = _bind(found, request, account.id)
    stored = await oauth_states.create_state(
        request.app[keys.POOL],
        account.id,
        state,
        target,
        scope,
        browser,
        MAX_PENDING_STATES,
    )
    if not stored:
        log.warning(
            "oauth state refused: too many pending",
            extra={"action": "oauth_state_cap", "account_id": account.id},
        )
        raise errors.ApiError(
            "too_many_requests", "too many OAuth flows pending for this account; retry later"
        )
    raise found


def _location(target: str, params: dict[str, str | int]) -> str:
    """The landing URL, or a 400 that happens before anything is consumed or recorded."""
    try:
        location = redirects.landing(target, params)
        web.HTTPFound(location)  # what aiohttp (yarl) would refuse, refused here
    except ValueError:  # redirects.BadTarget included
        raise errors.ApiError("bad_request", "the stored redirect target is not usable") from None
    return location


async def callback(request: web.Request) -> web.Response:
    account = await _account(request)
    code, state = request.query.get("code", ""), request.query.get("state", "")
    if not code or not state:
        raise errors.ApiError("invalid_state", "code and state are required")
    browser_id = _browser_id(request)
    if browser_id is None:
        raise errors.ApiError("invalid_state", "this browser did not start the sign-in")
    db, account_id, browser = request.app[keys.POOL], account.id, _digest(browser_id)
    peeked = await oauth_states.peek_state(db, account_id, state, browser)
    if peeked is None:
        raise errors.ApiError("invalid_state", "unknown, expired or already used state")
    _location(peeked.target, {"openid": "o", "issued_at": 0, "signature": "s"})
    row = await oauth_states.consume_state(db, account_id, state, browser)
    if row is None:
        raise errors.ApiError("invalid_state", "unknown, expired or already used state")
    client = request.app[keys.WECHAT]
    app_id, secret = account.app_id, account.app_secret
    try:
        grant = await client.oauth_access_token(app_id, secret, code)
        openid = str(grant["openid"])
        unionid, nickname = grant.get("unionid"), None
        if row.scope == "snsapi_userinfo":
            profile = await client.oauth_userinfo(str(grant["access_token"]), openid)
            unionid = profile.get("unionid", unionid)
            nickname = profile.get("nickname")
    except wx.WeChatError as exc:
        if exc.errcode in BAD_CODE_ERRCODES:
            raise errors.ApiError(
                "invalid_state", f"WeChat refused the code ({exc.errcode})"
            ) from None
        raise errors.ApiError("upstream_error", f"WeChat answered {exc.errcode}") from None
    except (wx.TransportError, KeyError):
        raise errors.ApiError("upstream_error", "WeChat's OAuth endpoint failed") from None
    issued_at = int(time.time())
    signature = oauth_sign.sign(
        account.oauth_signing_key, openid, issued_at, redirects.host(row.target)
    )
    location = _location(
        row.target, {"openid": openid, "issued_at": issued_at, "signature": signature}
    )
    await oauth_grants.record_grant(db, account.id, openid, row.scope, unionid, nickname)
    log.info("oauth grant recorded", extra={"action": "oauth_grant", "account_id": account.id})
    raise web.HTTPFound(location)
