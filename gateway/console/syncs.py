"""Console page of an account's follower syncs (SPEC 9): the syncs, newest first in keyset
pages, and the Start sync button (the `manage` scope), through the API's store function."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from gateway.api import bodies, errors, keys
from gateway.console import access, filters
from gateway.console import session as sess
from gateway.console.pages import context
from gateway.domain import scopes
from gateway.store import console_webhooks as views
from gateway.store import syncs as store

PAGE = 25
ACCOUNT = "/console/accounts/{id}"


async def list_page(request: web.Request) -> web.Response:
    row = await access.account(request)
    query = filters.parse(request, filters.SyncsQuery)
    before = bodies.int_cursor(query.cursor)
    rows = await views.list_syncs(request.app[keys.POOL], row.id, before, PAGE + 1)
    more = len(rows) > PAGE
    next_cursor = bodies.encode_cursor(rows[PAGE - 1].id) if more else None
    running = any(r.status == "running" for r in rows)
    return aiohttp_jinja2.render_template(
        "syncs.html",
        request,
        context(
            request,
            account=row,
            syncs=rows[:PAGE],
            next_cursor=next_cursor,
            running=running,
            can_manage=access.grant(request).allows(scopes.MANAGE),
            page="syncs",
        ),
    )


async def start(request: web.Request) -> web.Response:
    row = await access.account(request)
    access.require(request, scopes.MANAGE)
    try:
        started = await store.start(request.app[keys.POOL], row.id)
    except store.SyncRunning:
        raise errors.ApiError(
            "sync_running", "a follower sync of this account is running"
        ) from None
    request[sess.SUMMARY] = f"start follower sync {started.id}"
    return sess.redirect(f"/console/accounts/{row.id}/syncs")


def register(router: web.UrlDispatcher) -> None:
    """The follower sync page under /console/accounts/{id}/syncs."""
    router.add_get(ACCOUNT + "/syncs", list_page)
    router.add_post(ACCOUNT + "/syncs", start)
