"""`/api/v1/accounts/{id}/followers`: follower state with its window and mass quota."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from aiohttp import web

from gateway.api import bodies, keys, responses
from gateway.api.models import followers
from gateway.domain import kinds, periods, window
from gateway.store import accounts as accounts_store
from gateway.store import follower_views as store


def _resource(
    row: store.FollowerView, kind: str, now: dt.datetime, tz: zoneinfo.ZoneInfo
) -> followers.Follower:
    current = window.Window(row.window_ends_at, row.window_remaining)
    is_open = window.is_open(current, now)
    quota = None
    if kind == kinds.AccountKind.SERVICE:
        period = periods.month_period(now, tz)
        limit = periods.MASS_LIMIT[kinds.AccountKind.SERVICE]
        used = row.mass_used or 0
        quota = followers.MassQuota(
            period=period.key,
            limit=limit,
            used=used,
            remaining=max(limit - used, 0),
            resets_at=period.resets_at,
        )
    oauth = None
    if row.oauth_scope is not None or row.unionid is not None:
        oauth = followers.OAuthGrant(
            scope=row.oauth_scope,
            at=row.oauth_at,
            unionid=row.unionid,
            nickname=row.nickname,
        )
    return followers.Follower(
        account_id=row.account_id,
        openid=row.openid,
        subscribed=row.subscribed,
        subscribed_at=row.subscribed_at,
        unsubscribed_at=row.unsubscribed_at,
        last_interaction_at=row.last_interaction_at,
        last_interaction=row.last_interaction,
        first_qr_scene=row.first_qr_scene,
        latest_qr_scene=row.latest_qr_scene,
        oauth=oauth,
        window=followers.Window(
            open=is_open,
            expires_at=current.ends_at if is_open else None,
            remaining=current.remaining if is_open else None,
        ),
        mass_quota=quota,
        subscribe_scene=row.subscribe_scene,
        qr_scene=row.qr_scene,
        remark=row.remark,
        tags=list(row.tags),
        synced_at=row.synced_at,
        updated_at=row.updated_at,
    )


# The console shows a follower as the API does.
resource = _resource


async def get_follower(request: web.Request) -> web.Response:
    account_id, openid = bodies.account_id(request), bodies.openid(request)
    pool, tz = request.app[keys.POOL], request.app[keys.SETTINGS].tz
    now = dt.datetime.now(dt.UTC)
    account = await accounts_store.get_account(pool, account_id)
    row = await store.get_follower(pool, account_id, openid, periods.month_key(now, tz))
    return responses.ok(_resource(row, account.kind, now, tz))


async def list_followers(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    query = bodies.parse_query(request, followers.FollowerQuery)
    after = bodies.text_cursor(query.cursor)
    pool, tz = request.app[keys.POOL], request.app[keys.SETTINGS].tz
    now = dt.datetime.now(dt.UTC)
    account = await accounts_store.get_account(pool, account_id)
    rows = await store.list_followers(
        pool,
        account_id,
        window=query.window,
        now=now,
        period=periods.month_key(now, tz),
        after=after,
        limit=query.limit + 1,
    )
    items = [_resource(r, account.kind, now, tz) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    next_cursor = bodies.encode_cursor(items[-1].openid) if more else None
    return responses.ok(followers.FollowerPage(items=items, next_cursor=next_cursor))
