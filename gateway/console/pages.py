"""Console pages: the accounts overview, one account (counts and the last hour's charts) and
a follower looked up by openid. They read through the same store functions as the API."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.api import bodies, followers, keys
from gateway.console import access, charts, filters, nav
from gateway.console import session as sess
from gateway.domain import periods
from gateway.store import account_stats, console_webhooks, follower_views, inbound_log
from gateway.store import accounts as accounts_store
from gateway.store import errors as store_errors

PAGE = 25
INTERACTIONS = 20
# Accounts of the overview read at once (each its four reads at once, from the pool: the
# pool's size bounds the connections, this bounds what one page queues on it).
AT_ONCE = 4


def context(request: web.Request, **values: Any) -> dict[str, Any]:
    """What every template gets: the session (its grant and CSRF token) and the nav."""
    return {"session": request[sess.SESSION], "nav": nav.ACCOUNT_PAGES, **values}


async def overview(request: web.Request) -> web.Response:
    query = filters.parse(request, filters.AccountsQuery)
    after = bodies.text_cursor(query.cursor)
    grant = access.grant(request)
    only = None if grant.all_accounts else sorted(grant.accounts)
    pool, now = request.app[keys.POOL], dt.datetime.now(dt.UTC)
    rows = await accounts_store.list_accounts(pool, after, PAGE + 1, only)
    gate = asyncio.Semaphore(AT_ONCE)

    async def read(row: accounts_store.Account) -> dict[str, Any]:
        async with gate:
            stats, failing = await asyncio.gather(
                account_stats.summary(pool, row.id, now),
                console_webhooks.failing_endpoints(pool, row.id, account_stats.CAP),
            )
        return {"row": row, "stats": stats, "failing": failing}

    accounts = await asyncio.gather(*(read(row) for row in rows[:PAGE]))
    more = len(rows) > PAGE
    next_cursor = bodies.encode_cursor(rows[PAGE - 1].id) if more else None
    return aiohttp_jinja2.render_template(
        "overview.html",
        request,
        context(request, accounts=accounts, cap=account_stats.CAP, next_cursor=next_cursor),
    )


async def account(request: web.Request) -> web.Response:
    row = await access.account(request)
    pool, now = request.app[keys.POOL], dt.datetime.now(dt.UTC)
    since = charts.window_start(now)
    stats, minutes, attempts = await asyncio.gather(
        account_stats.summary(pool, row.id, now),
        account_stats.per_minute(pool, row.id, since),
        console_webhooks.attempts_per_minute(pool, row.id, since),
    )
    shown = [
        charts.chart("Callbacks per minute", minutes["callbacks"], now),
        charts.chart("Sends per minute", minutes["sends"], now),
        charts.chart("Webhook deliveries per minute", attempts, now),
    ]
    return aiohttp_jinja2.render_template(
        "account.html",
        request,
        context(request, account=row, stats=stats, cap=account_stats.CAP, charts=shown, page=""),
    )


async def follower(request: web.Request) -> web.Response:
    row = await access.account(request)
    query = filters.parse(request, filters.FollowerQuery)
    found = None
    interactions: list[inbound_log.StoredCallback] = []
    missing = False
    if query.openid is not None:
        pool, settings = request.app[keys.POOL], request.app[keys.SETTINGS]
        now = dt.datetime.now(dt.UTC)
        period = periods.month_key(now, settings.tz)
        try:
            state = await follower_views.get_follower(pool, row.id, query.openid, period)
        except store_errors.NotFound:
            missing = True
        else:
            found = followers.resource(state, row.kind, now, settings.tz)
            interactions = await inbound_log.list_events(
                pool, row.id, inbound_log.Filter(openid=query.openid), None, INTERACTIONS
            )
    return aiohttp_jinja2.render_template(
        "follower.html",
        request,
        context(
            request,
            account=row,
            openid=query.openid,
            follower=found,
            missing=missing,
            interactions=interactions,
            page="followers",
        ),
        status=404 if missing else 200,
    )
