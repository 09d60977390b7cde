"""Parametric QR codes: `/cgi-bin/qrcode/create` (service accounts) and `showqrcode`."""

from __future__ import annotations

import base64
import io
from datetime import datetime, timedelta
from typing import Any

import segno
from aiohttp import web

from gateway.mock import calls, errors, faults, keys, state

CREATE_PATH = "/cgi-bin/qrcode/create"
SHOW_PATH = "/cgi-bin/showqrcode"
PERMANENT_LIMIT = 100_000
DEFAULT_EXPIRY = 60
MAX_EXPIRY = 2_592_000
SCENE_STR_MAX = 64
ACTIONS = ("QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE")


def scene_of(action_name: str, body: dict[str, Any]) -> str:
    """The scene value as text, checked against the action's range (40053 otherwise)."""
    info = body.get("action_info")
    scene = info.get("scene") if isinstance(info, dict) else None
    if not isinstance(scene, dict):
        raise errors.ApiError(40053, "action_info.scene is required")
    if action_name.endswith("STR_SCENE"):
        text = scene.get("scene_str")
        if not isinstance(text, str) or not 1 <= len(text) <= SCENE_STR_MAX:
            raise errors.ApiError(40053, "scene_str must be 1 to 64 characters")
        return text
    number = scene.get("scene_id")
    if not isinstance(number, int) or isinstance(number, bool):
        raise errors.ApiError(40053, "scene_id must be an integer")
    if action_name == "QR_LIMIT_SCENE" and not 1 <= number <= PERMANENT_LIMIT:
        raise errors.ApiError(40053, "scene_id of a permanent code must be 1 to 100000")
    if action_name == "QR_SCENE" and (number == 0 or not -(2**31) <= number < 2**31):
        raise errors.ApiError(40053, "scene_id must be a non-zero 32-bit integer")
    return str(number)


def _expiry(body: dict[str, Any]) -> int:
    seconds = body.get("expire_seconds", DEFAULT_EXPIRY)
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise errors.ApiError(40097, "expire_seconds must be an integer")
    if not 1 <= seconds <= MAX_EXPIRY:
        raise errors.ApiError(40097, "expire_seconds must be at most 2592000")
    return seconds


def _ticket(mock: state.MockState) -> tuple[str, str]:
    """A ticket shaped like the platform's (base64 with '+', '/' and '=') and its URL."""
    key = mock.opaque(22).replace("-", "x").replace("_", "y")
    raw = b"\x08\x00" + f"http://weixin.qq.com/q/{key}".encode() + bytes(8)
    return base64.b64encode(raw).decode(), f"http://weixin.qq.com/q/{key}"


async def create(call: calls.Call) -> calls.Outcome:
    calls.require_kind(call.account, "service")
    action_name = call.body.get("action_name")
    if action_name not in ACTIONS:
        raise errors.ApiError(40097, "action_name must be one of " + ", ".join(ACTIONS))
    scene = scene_of(str(action_name), call.body)
    account = call.account
    if str(action_name).startswith("QR_LIMIT"):
        scene_key = f"{action_name}:{scene}"
        existing = account.permanent_scenes.get(scene_key)
        if existing is not None:
            code = account.qrcodes[existing]
            return calls.Outcome({"ticket": code.ticket, "url": code.url})
        if len(account.permanent_scenes) >= PERMANENT_LIMIT:
            raise errors.ApiError(40053, "the account has 100000 permanent QR codes")
        ticket, url = _ticket(call.mock)
        account.qrcodes[ticket] = state.QrTicket(ticket, url, str(action_name), scene, None)
        account.permanent_scenes[scene_key] = ticket
        return calls.Outcome({"ticket": ticket, "url": url})
    seconds = _expiry(call.body)
    ticket, url = _ticket(call.mock)
    expires_at = call.now + timedelta(seconds=seconds)
    account.qrcodes[ticket] = state.QrTicket(ticket, url, str(action_name), scene, expires_at)
    return calls.Outcome({"ticket": ticket, "expire_seconds": seconds, "url": url})


def find(mock: state.MockState, ticket: str) -> state.QrTicket | None:
    for account in mock.accounts.values():
        code = account.qrcodes.get(ticket)
        if code is not None:
            return code
    return None


async def show(request: web.Request) -> web.StreamResponse:
    """The QR image of a live ticket (no token needed); 404 for unknown or expired ones."""
    mock = request.app[keys.STATE]
    now = request.app[keys.CONFIG].now()
    try:
        injected = await faults.inject(mock, SHOW_PATH, request)
    except errors.ApiError as error:
        return errors.response(error)
    if injected is not None:
        return injected.response
    code = find(mock, request.query.get("ticket", ""))
    if code is None or (code.expires_at is not None and now >= code.expires_at):
        raise web.HTTPNotFound(text="ticket not found or expired")
    buffer = io.BytesIO()
    segno.make(code.url).save(buffer, kind="png", scale=4)
    return web.Response(body=buffer.getvalue(), content_type="image/png")


def live_ticket(account: state.Account, scene: str, now: datetime) -> str | None:
    """The ticket of a live code for `scene` (for scan actions), newest first."""
    for code in reversed(list(account.qrcodes.values())):
        if code.scene == scene and (code.expires_at is None or now < code.expires_at):
            return code.ticket
    return None
