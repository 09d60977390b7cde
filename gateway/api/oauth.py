"""OAuth web authorization (C6, service accounts only): a redirect to WeChat with a stored,
single-use state, and the callback that exchanges the code, records the grant and sends the
browser to the allow-listed target with a signed identity."""

from __future__ import annotations

import logging
import secrets
import time
import urllib.parse
from typing import NoReturn

from aiohttp import web

from gateway import oauth_sign
from gateway.api import errors, keys
from gateway.domain import kinds
from gateway.store import queries, webhooks
from gateway.wechat import client as wx

log = logging.getLogger(__name__)

REAL_OAUTH_BASE = "https://open.weixin.qq.com"
SCOPES = ("snsapi_base", "snsapi_userinfo")
# WeChat's answers to a bad, expired or reused code: the browser's fault, not ours.
BAD_CODE_ERRCODES = frozenset({40029, 40163, 42003, 41008})


async def _account(request: web.Request) -> dict[str, object]:
    account_id = request.match_info["account_id"]
    row = await request.app[keys.POOL].fetchrow(queries.get("oauth_account"), account_id)
    if row is None:
        raise errors.ApiError("not_found", f"account {account_id!r} not found")
    kind = kinds.AccountKind(row["kind"])
    if not kinds.has_capability(kind, kinds.Capability.OAUTH):
        raise errors.ApiError(
            "capability_not_available", kinds.refusal(kind, kinds.Capability.OAUTH)
        )
    return dict(row)


def _allowed_target(target: str, hosts: list[str]) -> bool:
    parts = urllib.parse.urlsplit(target)
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and bool(host) and host in {h.lower() for h in hosts}


async def authorize(request: web.Request) -> web.Response:
    account = await _account(request)
    target = request.query.get("redirect", "")
    scope = request.query.get("scope", "snsapi_base")
    if scope not in SCOPES:
        raise errors.ApiError("bad_request", f"scope must be one of {', '.join(SCOPES)}")
    hosts = list(account["oauth_redirect_hosts"])  # type: ignore[call-overload]
    if not _allowed_target(target, hosts):
        raise errors.ApiError(
            "bad_request",
            "redirect must be an http(s) URL on one of the account's oauth_redirect_hosts",
        )
    await begin(request, account, target, scope)


async def begin(
    request: web.Request, account: dict[str, object], target: str, scope: str
) -> NoReturn:
    """Store a single-use state for `target` and send the browser to WeChat's consent page;
    the callback then redirects to `target` with a signed identity. `target` is trusted
    here: callers check it (the allow-list above, or a page of the gateway itself)."""
    state = secrets.token_hex(16)  # WeChat allows [a-zA-Z0-9], at most 128 bytes
    await request.app[keys.POOL].execute(
        queries.get("oauth_state_insert"), account["id"], state, target, scope
    )
    settings = request.app[keys.SETTINGS]
    redirect_uri = f"{settings.public_base()}/oauth/{account['id']}/callback"
    query = urllib.parse.urlencode(
        {
            "appid": account["app_id"],
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": scope,
            "state": state,
        },
        quote_via=urllib.parse.quote,
        safe="",
    )
    base = (settings.wechat_oauth_base or REAL_OAUTH_BASE).rstrip("/")
    raise web.HTTPFound(f"{base}/connect/oauth2/authorize?{query}#wechat_redirect")


async def callback(request: web.Request) -> web.Response:
    account = await _account(request)
    code, state = request.query.get("code", ""), request.query.get("state", "")
    if not code or not state:
        raise errors.ApiError("invalid_state", "code and state are required")
    db = request.app[keys.POOL]
    row = await db.fetchrow(queries.get("oauth_state_consume"), account["id"], state)
    if row is None:
        raise errors.ApiError("invalid_state", "unknown, expired or already used state")
    client = request.app[keys.WECHAT]
    app_id, secret = str(account["app_id"]), str(account["app_secret"])
    try:
        grant = await client.oauth_access_token(app_id, secret, code)
        openid = str(grant["openid"])
        unionid, nickname = grant.get("unionid"), None
        if row["scope"] == "snsapi_userinfo":
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
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            queries.get("oauth_record_grant"),
            account["id"],
            openid,
            row["scope"],
            unionid,
            nickname,
        )
        # The grant's webhook (SPEC 7) in the transaction that records it.
        grant_data = {"openid": openid, "scope": row["scope"], "unionid": unionid}
        if nickname is not None:
            grant_data["nickname"] = nickname
        await webhooks.emit(conn, str(account["id"]), "oauth.granted", openid, grant_data)
    log.info("oauth grant recorded", extra={"action": "oauth_grant", "account_id": account["id"]})
    target = urllib.parse.urlsplit(row["target"])
    issued_at = int(time.time())
    signature = oauth_sign.sign(
        str(account["oauth_signing_key"]), openid, issued_at, target.hostname or ""
    )
    extra = urllib.parse.urlencode(
        {"openid": openid, "issued_at": issued_at, "signature": signature}
    )
    query = f"{target.query}&{extra}" if target.query else extra
    raise web.HTTPFound(urllib.parse.urlunsplit(target._replace(query=query)))
