"""OAuth web authorization: authorize (auto-consent), code exchange, userinfo.

The mock's extension: `/connect/oauth2/authorize` takes an optional `openid` query parameter
naming the follower who consents; without it a fresh, deterministic openid is used.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from aiohttp import web
from yarl import URL

from gateway.mock import calls, errors, faults, keys, state

AUTHORIZE_PATH = "/connect/oauth2/authorize"
EXCHANGE_PATH = "/sns/oauth2/access_token"
USERINFO_PATH = "/sns/userinfo"
CODE_LIFETIME = timedelta(minutes=5)
WEB_TOKEN_LIFETIME = timedelta(seconds=7200)
SCOPES = ("snsapi_base", "snsapi_userinfo")


def _page(errcode: int, text: str) -> web.Response:
    """The error page WeChat shows the user instead of redirecting."""
    body = f"<html><body><h1>{errcode}</h1><p>errcode {errcode}: {text}</p></body></html>"
    return web.Response(status=400, text=body, content_type="text/html")


def visitor_openid(app_id: str, number: int) -> str:
    """A deterministic, 28-character openid for the n-th anonymous visitor of an account."""
    digest = hashlib.sha256(f"{app_id}:{number}".encode()).hexdigest()
    return "o" + digest[:27]


def unionid(app_id: str, openid: str) -> str:
    return "u" + hashlib.sha256(f"union:{app_id}:{openid}".encode()).hexdigest()[:27]


async def authorize(request: web.Request) -> web.StreamResponse:
    mock = request.app[keys.STATE]
    now = request.app[keys.CONFIG].now()
    try:
        injected = await faults.inject(mock, AUTHORIZE_PATH, request)
    except errors.ApiError as error:
        return errors.response(error)
    if injected is not None:
        return injected.response
    query = request.query
    account = mock.accounts.get(query.get("appid", ""))
    redirect_uri = query.get("redirect_uri", "")
    scope = query.get("scope", "")
    if not query.get("appid"):
        return _page(10012, "appid is empty")
    if account is None:
        return _page(10016, "invalid appid")
    if not redirect_uri:
        return _page(10011, "redirect_uri is empty")
    if not URL(redirect_uri).is_absolute() or URL(redirect_uri).scheme not in ("http", "https"):
        return _page(10003, "redirect_uri domain mismatch")
    if not scope:
        return _page(10010, "scope is empty")
    if account.kind != "service" or scope not in SCOPES:
        return _page(10005, "the account has no permission for this scope")
    if query.get("response_type") != "code":
        return _page(10010, "response_type must be code")
    openid = query.get("openid")
    if not openid:
        mock.oauth_visitors += 1
        openid = visitor_openid(account.app_id, mock.oauth_visitors)
    code = mock.opaque(32)
    mock.oauth_codes[code] = state.OAuthCode(
        code, account.app_id, openid, scope, now + CODE_LIFETIME
    )
    params = {"code": code}
    if "state" in query:
        params["state"] = query["state"]
    raise web.HTTPFound(URL(redirect_uri).update_query(params))


async def exchange(request: web.Request) -> web.StreamResponse:
    """Codes are single-use (40163) and live five minutes (40029)."""
    mock = request.app[keys.STATE]
    now = request.app[keys.CONFIG].now()
    query = request.query
    try:
        injected = await faults.inject(mock, EXCHANGE_PATH, request)
        if injected is not None:
            return injected.response
        if query.get("grant_type") != "authorization_code":
            raise errors.ApiError(40002)
        account = mock.accounts.get(query.get("appid", ""))
        if account is None:
            raise errors.ApiError(40013)
        secret = query.get("secret", "").encode()
        if not hmac.compare_digest(secret, account.app_secret.encode()):
            raise errors.ApiError(40125)
        if not query.get("code"):
            raise errors.ApiError(41008)
        code = mock.oauth_codes.get(query["code"])
        if code is None or code.app_id != account.app_id or now >= code.expires_at:
            raise errors.ApiError(40029)
        if code.used:
            raise errors.ApiError(40163)
    except errors.ApiError as error:
        return errors.response(error)
    code.used = True
    account.oauth_exchanges += 1
    token = state.WebToken(
        mock.opaque(110), account.app_id, code.openid, code.scope, now + WEB_TOKEN_LIFETIME
    )
    mock.web_tokens[token.value] = token
    answer: dict[str, Any] = {
        "access_token": token.value,
        "expires_in": int(WEB_TOKEN_LIFETIME.total_seconds()),
        "refresh_token": mock.opaque(110),
        "openid": code.openid,
        "scope": code.scope,
    }
    if code.scope == "snsapi_userinfo":
        answer["unionid"] = unionid(account.app_id, code.openid)
    return web.json_response(answer)


async def userinfo(request: web.Request) -> web.StreamResponse:
    """Profile of the consenting user; only for snsapi_userinfo web tokens (48001 else)."""
    mock = request.app[keys.STATE]
    now = request.app[keys.CONFIG].now()
    query = request.query
    token = mock.web_tokens.get(query.get("access_token", ""))
    logged = {"openid": query.get("openid"), "lang": query.get("lang")}
    owner = mock.accounts.get(token.app_id) if token is not None else None
    try:
        injected = await faults.inject(mock, USERINFO_PATH, request)
        if injected is not None:
            return injected.response
        if not query.get("access_token"):
            raise errors.ApiError(41001)
        if token is None or owner is None:
            raise errors.ApiError(40001)
        if now >= token.expires_at:
            raise errors.ApiError(42001)
        if query.get("openid") != token.openid:
            raise errors.ApiError(40003)
        if token.scope != "snsapi_userinfo":
            raise errors.ApiError(48001)
    except errors.ApiError as error:
        if owner is not None:
            verdict = f"refused: {error.errmsg}"
            calls.record(owner, USERINFO_PATH, logged, error.errcode, verdict, now, delivered=False)
        return errors.response(error)
    calls.record(owner, USERINFO_PATH, logged, 0, "ok", now, delivered=False)
    openid = token.openid
    return web.json_response(
        {
            "openid": openid,
            "nickname": f"User {openid[-6:]}",
            "sex": 0,
            "province": "",
            "city": "",
            "country": "",
            "headimgurl": f"https://thirdwx.qlogo.cn/mmopen/mock/{openid}/132",
            "privilege": [],
            "unionid": unionid(token.app_id, openid),
        }
    )
