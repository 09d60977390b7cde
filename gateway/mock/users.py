"""Follower lists and profiles: `user/get`, `user/info`, `user/info/batchget`, and seeding.

`GET /cgi-bin/user/get?next_openid=` answers pages of 10,000 subscribed openids as
`{"total", "count", "data": {"openid": [..]}, "next_openid"}`; `next_openid` is the page's
last openid, and the page after the last one is `{"total", "count": 0, "next_openid": ""}`
(no `data`). `POST /_mock/accounts/{app_id}/followers/seed {"count", "prefix"?}` adds
followers who subscribed before the gateway existed, sending no callback.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta
from typing import Annotated, Any

import pydantic
from aiohttp import web

from gateway.mock import calls, control, errors, keys, roster, schemas, state

GET_PATH = "/cgi-bin/user/get"
INFO_PATH = "/cgi-bin/user/info"
BATCHGET_PATH = "/cgi-bin/user/info/batchget"
PAGE = 10_000
BATCH_MAX = 100
SEED_MAX = 10_000_000


def info(account: state.Account, follower: roster.Follower) -> dict[str, Any]:
    """The profile the platform returns; a non-follower's is `subscribe: 0` and its openid."""
    if not follower.subscribed:
        return {"subscribe": 0, "openid": follower.openid}
    when = follower.subscribed_at
    answer: dict[str, Any] = {
        "subscribe": 1,
        "openid": follower.openid,
        "language": "zh_CN",
        "subscribe_time": int(when.timestamp()) if when else 0,
        "remark": follower.remark,
        "groupid": 0,
        "tagid_list": sorted(t.id for t in account.tags.values() if follower.openid in t.members),
        "subscribe_scene": follower.subscribe_scene,
        "qr_scene": follower.qr_scene,
        "qr_scene_str": follower.qr_scene_str,
    }
    if follower.unionid is not None:
        answer["unionid"] = follower.unionid
    return answer


def _known(account: state.Account, openid: Any) -> roster.Follower:
    if not isinstance(openid, str) or not openid:
        raise errors.ApiError(40003)
    follower = account.followers.peek(openid)
    if follower is None:
        raise errors.ApiError(40003, openid)
    return follower


async def get_list(call: calls.Call) -> calls.Outcome:
    after = call.request.query.get("next_openid", "")
    followers = call.account.followers
    if after and after not in followers:
        raise errors.ApiError(40003, after)
    page = list(itertools.islice(followers.subscribed_after(after), PAGE))
    answer: dict[str, Any] = {"total": followers.subscribed_total(), "count": len(page)}
    if page:
        answer["data"] = {"openid": page}
    answer["next_openid"] = page[-1] if page else ""
    return calls.Outcome(answer)


async def get_info(call: calls.Call) -> calls.Outcome:
    follower = _known(call.account, call.request.query.get("openid"))
    return calls.Outcome(info(call.account, follower))


async def batchget(call: calls.Call) -> calls.Outcome:
    """At most 100 followers a call (40032 beyond); one unknown openid fails the call."""
    wanted = call.body.get("user_list")
    if not isinstance(wanted, list) or not all(isinstance(w, dict) for w in wanted):
        raise errors.ApiError(47001, "user_list must be a list of {openid, lang}")
    if not 1 <= len(wanted) <= BATCH_MAX:
        raise errors.ApiError(40032)
    profiles = [info(call.account, _known(call.account, w.get("openid"))) for w in wanted]
    return calls.Outcome({"user_info_list": profiles})


class SeedIn(schemas.Strict):
    count: Annotated[int, pydantic.Field(ge=1, le=SEED_MAX)]
    prefix: Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,18}$")] | None = (
        None
    )


async def seed(request: web.Request) -> web.Response:
    """Add `count` followers who subscribed before now (one second apart), silently."""
    account = control.account_of(request)
    body = await schemas.parse(request, SeedIn)
    prefix = body.prefix or "o" + secrets.token_hex(4) + "_"
    if len(str(body.count - 1)) > roster.OPENID_CHARS - len(prefix):
        raise errors.control(400, "validation_error", "prefix too long for that many followers")
    now = request.app[keys.CONFIG].now().replace(microsecond=0)
    block = roster.SeedBlock(prefix, body.count, now - timedelta(seconds=1))
    try:
        account.followers.seed(block)
    except ValueError as exc:
        raise errors.control(409, "prefix_overlap", str(exc)) from None
    answer = {
        "prefix": prefix,
        "count": body.count,
        "first": block.openid(0),
        "last": block.openid(body.count - 1),
        "total_subscribed": account.followers.subscribed_total(),
    }
    return web.json_response(answer, status=201)
