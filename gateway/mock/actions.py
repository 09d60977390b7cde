"""Follower actions: the mock's view of the follower changes, then the matching push goes out.

`POST /_mock/accounts/{app_id}/followers/{openid}/actions` answers
{"delivered", "attempts", "status", "reply", "reply_problem", "reply_body", "create_time",
"msg_id"?}: `reply` is the passive reply the gateway answered with, decrypted and parsed
into a dict (`{"MsgType": "text", "Content": ...}`), or null; `reply_body` the answer as
received.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.mock import (
    callbacks,
    control,
    errors,
    events,
    keys,
    menus,
    pay,
    qrcodes,
    quota,
    schemas,
    state,
    window,
)


def _require(value: Any, field: str, action: str) -> Any:
    if value is None or value == "":
        raise errors.control(400, "validation_error", f"action {action} needs {field}")
    return value


def _conflict(text: str) -> web.HTTPException:
    return errors.control(409, "follower_state", text)


def apply(
    mock: state.MockState,
    account: state.Account,
    follower: state.Follower,
    body: schemas.ActionIn,
    now: datetime,
) -> events.Fields | None:
    """Update the follower for the action; the fields to push (None: nothing to push)."""
    t, openid, action = int(now.timestamp()), follower.openid, body.action
    if action in ("scan", "pay") and account.kind != "service":
        raise errors.control(400, "capability_not_available", f"{action} needs a service account")
    if action not in ("subscribe", "scan") and not follower.subscribed:
        raise _conflict(f"{action}: the follower is not subscribed")
    if action == "subscribe":
        if follower.subscribed:
            raise _conflict("subscribe: the follower is already subscribed")
        _subscribe(follower, now, "ADD_SCENE_SEARCH")
        return events.subscribe(account, openid, t)
    if action == "scan":
        scene = str(_require(body.scene, "scene", action))
        ticket = qrcodes.live_ticket(account, scene, now) or mock.opaque(40)
        follows = follower.subscribed
        if not follows:
            _subscribe(follower, now, "ADD_SCENE_QR_CODE")
            number = scene.isdigit() and int(scene) < 2**32
            follower.qr_scene = int(scene) if number else 0
            follower.qr_scene_str = "" if number else scene
        window.open_by(follower, "event", now)
        return events.scan(account, openid, t, scene, ticket, follows=follows)
    if action == "unsubscribe":
        follower.subscribed, follower.unsubscribed_at = False, now
        window.close(follower)
        return events.unsubscribe(account, openid, t)
    if action == "text":
        content = _require(body.content, "content", action)
        window.open_by(follower, "message", now)
        return events.text(account, openid, t, content, mock.message_id())
    if action == "click":
        key = menus.click_key(account, _require(body.key, "key", action))
        window.open_by(follower, "event", now)
        return events.event(account, openid, t, "CLICK", EventKey=key)
    if action == "view":
        url = _require(body.url, "url", action)
        return events.event(account, openid, t, "VIEW", EventKey=url, MenuId=mock.message_id())
    if action == "location":
        lat, lng = _require(body.lat, "lat", action), _require(body.lng, "lng", action)
        return events.location(account, openid, t, lat, lng)
    window.open_by(follower, "payment", now)
    return None


def _subscribe(follower: state.Follower, now: datetime, scene: str) -> None:
    follower.subscribed, follower.subscribed_at = True, now
    follower.subscribe_scene, follower.qr_scene, follower.qr_scene_str = scene, 0, ""
    window.open_by(follower, "event", now)


async def act(request: web.Request) -> web.Response:
    account = control.account_of(request)
    body = await schemas.parse(request, schemas.ActionIn)
    settings = request.app[keys.CONFIG]
    now = settings.now() - timedelta(seconds=body.ago_seconds)
    mock = request.app[keys.STATE]
    openid = request.match_info["openid"]
    follower = account.followers.get(openid) or state.Follower(openid)
    fields = apply(mock, account, follower, body, now)
    account.followers.setdefault(openid, follower)
    if body.action == "pay":
        # WeChat Pay's notification, not a callback: signed and encrypted, to pay_notify_url.
        tx = pay.transaction(account, follower.openid, body, now)
        transaction_id = str(tx["transaction_id"])
        pushed = await pay.notify(request.app[keys.HTTP], settings, mock, account, transaction_id)
        extra = {"transaction_id": transaction_id, "out_trade_no": tx["out_trade_no"]}
        return web.json_response({**pushed, "reply_problem": None, **extra})
    if fields is None:
        answer: dict[str, Any] = {"delivered": False, "attempts": 0, "status": None}
        return web.json_response(
            {**answer, "reply": None, "reply_problem": None, "reply_body": None}
        )
    http = request.app[keys.HTTP]
    outcome = await callbacks.deliver(http, settings, account, fields, follower.openid, now)
    answer = {**outcome.view(), "create_time": fields["CreateTime"]}
    if "MsgId" in fields:
        answer["msg_id"] = fields["MsgId"]
    return web.json_response(answer)


async def show(request: web.Request) -> web.Response:
    """The mock's view of a follower: subscription, window, mass quota used this month."""
    account = control.account_of(request)
    follower = account.followers.get(request.match_info["openid"])
    if follower is None:
        raise errors.control(404, "not_found", "the mock has never seen this follower")
    settings = request.app[keys.CONFIG]
    now, tz = settings.now(), settings.quota_tz
    used = quota.used(follower, now, tz)
    limit = quota.PER_FOLLOWER_MONTHLY if account.kind == "service" else None
    return web.json_response(
        {
            "openid": follower.openid,
            "subscribed": follower.subscribed,
            "subscribed_at": _iso(follower.subscribed_at),
            "unsubscribed_at": _iso(follower.unsubscribed_at),
            "last_interaction": _iso(follower.last_interaction),
            "window": window.view(follower, account.rule_profile, now),
            "mass": {
                "month": quota.month(now, tz),
                "used": used,
                "limit": limit,
                "remaining": None if limit is None else max(limit - used, 0),
            },
            "tags": sorted(t.id for t in account.tags.values() if follower.openid in t.members),
        }
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
