"""`POST /api/v1/accounts/{id}/qrcodes`: parametric QR codes through WeChat (C1)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import quote

from aiohttp import web

from gateway import settings as settings_mod
from gateway.api import bodies, errors, keys, responses
from gateway.api.models import qrcodes
from gateway.domain import kinds
from gateway.store import accounts as accounts_store
from gateway.store import qrcodes as store
from gateway.store import tokens
from gateway.wechat import client as wx

log = logging.getLogger(__name__)

REAL_SHOW_BASE = "https://mp.weixin.qq.com"


def api_base(settings: settings_mod.Settings) -> str:
    """The WeChat API base: the configured one, else the real platform."""
    return (settings.wechat_api_base or wx.REAL_API_BASE).rstrip("/")


def image_url(settings: settings_mod.Settings, ticket: str) -> str:
    # The real platform serves images from mp.weixin.qq.com; a mock serves them itself.
    base = api_base(settings)
    host = REAL_SHOW_BASE if base == wx.REAL_API_BASE else base
    return f"{host}/cgi-bin/showqrcode?ticket={quote(ticket, safe='')}"


def _payload(body: qrcodes.NewQrCode) -> dict[str, Any]:
    is_int = isinstance(body.scene, int)
    scene = {"scene_id": body.scene} if is_int else {"scene_str": body.scene}
    if body.permanent:
        action = "QR_LIMIT_SCENE" if is_int else "QR_LIMIT_STR_SCENE"
        return {"action_name": action, "action_info": {"scene": scene}}
    action = "QR_SCENE" if is_int else "QR_STR_SCENE"
    seconds = body.expire_seconds or qrcodes.DEFAULT_EXPIRY
    return {"expire_seconds": seconds, "action_name": action, "action_info": {"scene": scene}}


async def _token(app: web.Application, account: accounts_store.Account) -> str:
    client = app[keys.WECHAT]

    async def fetch(force: bool) -> wx.Token:
        return await client.stable_token(account.app_id, account.app_secret, force)

    return await tokens.access_token(app[keys.POOL], account.id, fetch, dt.datetime.now(dt.UTC))


def _creator(app: web.Application, token: str, payload: dict[str, Any]) -> store.Create:
    async def create() -> store.Ticket:
        answer = await app[keys.WECHAT].create_qrcode(token, payload)
        expires_at = None
        if "expire_seconds" in payload:
            seconds = int(answer.get("expire_seconds") or payload["expire_seconds"])
            expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        return store.Ticket(str(answer["ticket"]), str(answer["url"]), expires_at)

    return create


async def _attempts(
    app: web.Application, account: accounts_store.Account, body: qrcodes.NewQrCode
) -> tuple[store.QrCode, bool]:
    """Create through WeChat; a stale token (40001/42001) is dropped and the call tried once
    more with a fresh one. The token is fetched before any slot is reserved."""
    pool, payload = app[keys.POOL], _payload(body)
    scene, is_int = str(body.scene), isinstance(body.scene, int)
    for attempt in range(2):
        token = await _token(app, account)
        create = _creator(app, token, payload)
        try:
            if body.permanent:
                return await store.create_permanent(pool, account.id, scene, is_int, create)
            return await store.create_temporary(pool, account.id, scene, is_int, create), True
        except wx.WeChatError as exc:
            if attempt == 0 and exc.errcode in wx.STALE_TOKEN_ERRCODES:
                await tokens.invalidate(pool, account.id, token)
                continue
            raise
    raise AssertionError("unreachable")


async def _create(
    app: web.Application, account: accounts_store.Account, body: qrcodes.NewQrCode
) -> tuple[store.QrCode, bool]:
    """(row, created); WeChat's refusals and silences become 502 upstream_error."""
    try:
        return await _attempts(app, account, body)
    except (wx.WeChatError, wx.TransportError) as exc:
        log.warning(
            "qr code creation failed upstream: %s",
            exc,
            extra={"action": "qr_create_failed", "account_id": account.id},
        )
        details = None
        if isinstance(exc, wx.WeChatError):
            details = {"errcode": exc.errcode, "errmsg": exc.errmsg}
        raise errors.ApiError("upstream_error", f"WeChat failed: {exc}", details) from None


async def create_temporary(
    app: web.Application, account: accounts_store.Account, scene: str, seconds: int
) -> store.QrCode:
    """A temporary string-scene code through WeChat, recorded like any other (marketing
    events use one for check-in); WeChat's refusals and silences are 502 upstream_error."""
    body = qrcodes.NewQrCode(scene=scene, permanent=False, expire_seconds=seconds)
    row, _ = await _create(app, account, body)
    return row


def _require_capability(kind_name: str) -> None:
    kind = kinds.AccountKind(kind_name)
    if not kinds.has_capability(kind, kinds.Capability.PARAMETRIC_QR):
        raise errors.ApiError(
            "capability_not_available",
            kinds.refusal(kind, kinds.Capability.PARAMETRIC_QR),
            {"capability": kinds.Capability.PARAMETRIC_QR.value},
        )


async def create_qrcode(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    body = await bodies.read_json(request, qrcodes.NewQrCode)
    settings = request.app[keys.SETTINGS]
    account = await accounts_store.get_account(request.app[keys.POOL], account_id)
    _require_capability(account.kind)
    row, created = await _create(request.app, account, body)
    resource = qrcodes.QrCode(
        ticket=row.ticket,
        url=row.url,
        scene=int(row.scene) if row.scene_is_int else row.scene,
        permanent=row.permanent,
        expires_at=row.expires_at,
        image_url=image_url(settings, row.ticket),
    )
    return responses.ok(resource, status=201 if created else 200)
